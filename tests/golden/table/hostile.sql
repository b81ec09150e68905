CREATE TABLE RETAIL_DB.BRONZE."my""name" (
  "select" VARCHAR(10) COMMENT 'abc\\',
  "Mixed Case" NUMBER(38,0) NOT NULL COMMENT 'O''Brien',
  "a.b" VARCHAR(20) COLLATE 'en-ci' COMMENT 'first line\nsecond line',
  "O'Brien" DATE COMMENT '\\''; DROP TABLE x; --',
  PRIMARY KEY ("select", "Mixed Case")
)
  COMMENT = '''; DROP TABLE x; -- [managed by retail-etl]';
