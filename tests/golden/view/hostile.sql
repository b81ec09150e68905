CREATE VIEW RETAIL_DB.GOLD."Orders View"
  COMMENT = 'abc\\ [managed by retail-etl]'
  AS
SELECT
  "select",
  "O'Brien",
  "a.b"
FROM RETAIL_DB.SILVER."my""name";
