ALTER STORAGE INTEGRATION S3_BRONZE SET
  STORAGE_AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/snowflake-access-v2'
  STORAGE_AWS_EXTERNAL_ID = 'retail_etl_v2'
  ENABLED = FALSE
  STORAGE_ALLOWED_LOCATIONS = ('s3://retail-landing/raw_data/', 's3://retail-landing/ref/')
  COMMENT = 'S3, v2 [managed by retail-etl]';

ALTER STORAGE INTEGRATION S3_BRONZE UNSET STORAGE_BLOCKED_LOCATIONS;
