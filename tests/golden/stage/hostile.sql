CREATE STAGE RETAIL_DB.BRONZE."orders stage"
  URL = 's3://retail-landing/O''Brien/abc\\'
  STORAGE_INTEGRATION = "my""name"
  COMMENT = '\\''; DROP TABLE x; -- [managed by retail-etl]';
