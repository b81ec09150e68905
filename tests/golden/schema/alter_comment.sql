ALTER SCHEMA RETAIL_DB.BRONZE SET COMMENT = '[managed by retail-etl]';
