ALTER STAGE RETAIL_DB.BRONZE.ORDERS_STAGE SET
  URL = 's3://retail-landing/raw_data/orders_v2/';
