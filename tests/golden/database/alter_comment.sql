ALTER DATABASE RETAIL_DB SET COMMENT = 'Retail, v2 [managed by retail-etl]';
