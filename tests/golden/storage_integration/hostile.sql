CREATE STORAGE INTEGRATION S3_BRONZE
  TYPE = EXTERNAL_STAGE
  STORAGE_PROVIDER = 'S3'
  STORAGE_AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/snowflake-access'
  STORAGE_AWS_EXTERNAL_ID = 'abc\\'
  ENABLED = TRUE
  STORAGE_ALLOWED_LOCATIONS = ('s3://retail-landing/O''Brien/', 's3://retail-landing/''; DROP TABLE x; --/')
  STORAGE_BLOCKED_LOCATIONS = ('s3://retail-landing/$$/')
  COMMENT = '\\''; DROP TABLE x; -- [managed by retail-etl]';
