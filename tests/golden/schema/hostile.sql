CREATE SCHEMA "My DB"."select"
  COMMENT = '''; DROP TABLE x; -- [managed by retail-etl]';
