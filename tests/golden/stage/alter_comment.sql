ALTER STAGE RETAIL_DB.BRONZE.ORDERS_STAGE SET
  COMMENT = 'Orders, v2 [managed by retail-etl]';
