-- No primary key: rows are identified by a UNIQUE key of NOT NULL columns.
CREATE TABLE t (
  code CHAR(12) CHARACTER SET ascii NOT NULL,
  v INT NULL,
  note VARCHAR(30) NULL,
  UNIQUE KEY uk_code (code)
);
