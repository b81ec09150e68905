CREATE NOTIFICATION INTEGRATION ERRORS_SNS
  ENABLED = TRUE
  TYPE = QUEUE
  DIRECTION = OUTBOUND
  NOTIFICATION_PROVIDER = AWS_SNS
  AWS_SNS_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:retail-errors'
  AWS_SNS_ROLE_ARN = 'arn:aws:iam::123456789012:role/snowflake-sns'
  COMMENT = 'Pipe and task errors [managed by retail-etl]';
