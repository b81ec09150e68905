ALTER NOTIFICATION INTEGRATION ERRORS_SNS SET
  AWS_SNS_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:retail-errors'
  AWS_SNS_ROLE_ARN = 'arn:aws:iam::123456789012:role/snowflake-sns-v2';
