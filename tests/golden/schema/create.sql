CREATE SCHEMA RETAIL_DB.BRONZE
  COMMENT = 'Landing layer [managed by retail-etl]';
