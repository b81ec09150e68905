CREATE DATABASE RETAIL_DB
  COMMENT = 'Retail lakehouse [managed by retail-etl]';
