ALTER PIPE RETAIL_DB.BRONZE.WORK_ORDERS_PIPE SET COMMENT = 'Auto-ingest, v2 [managed by retail-etl]';
