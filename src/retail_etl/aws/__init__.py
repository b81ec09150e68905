"""The AWS side of the pipelines: S3 event notifications to the pipes' queues, the SNS error topic, IAM trust.

Plain modules over boto3 clients the caller makes; nothing here imports boto3 at module level except the command,
lazily, so the CLI starts without it.
"""
