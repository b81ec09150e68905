ALTER STORAGE INTEGRATION S3_BRONZE SET
  STORAGE_ALLOWED_LOCATIONS = ('s3://retail-landing/raw_data/', 's3://retail-landing/ref/');
