CREATE STAGE RETAIL_DB.BRONZE.ORDERS_STAGE
  URL = 's3://retail-landing/raw_data/orders/'
  STORAGE_INTEGRATION = S3_BRONZE
  COMMENT = 'Orders landing files [managed by retail-etl]';
