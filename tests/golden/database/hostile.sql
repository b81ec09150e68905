CREATE DATABASE "my""name"
  COMMENT = 'first line\nsecond line [managed by retail-etl]';
