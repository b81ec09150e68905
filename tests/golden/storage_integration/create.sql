CREATE STORAGE INTEGRATION S3_BRONZE
  TYPE = EXTERNAL_STAGE
  STORAGE_PROVIDER = 'S3'
  STORAGE_AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/snowflake-access'
  STORAGE_AWS_EXTERNAL_ID = 'retail_etl_s3_bronze'
  ENABLED = TRUE
  STORAGE_ALLOWED_LOCATIONS = ('s3://retail-landing/raw_data/')
  COMMENT = 'S3 landing bucket [managed by retail-etl]';
