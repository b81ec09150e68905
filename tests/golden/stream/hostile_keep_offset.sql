CREATE OR REPLACE STREAM RETAIL_DB.BRONZE."my""stream"
  ON TABLE RETAIL_DB.BRONZE."O'Brien"
  AT(STREAM => 'RETAIL_DB.BRONZE."my""stream"')
  APPEND_ONLY = TRUE
  COMMENT = '$$ [managed by retail-etl]';
