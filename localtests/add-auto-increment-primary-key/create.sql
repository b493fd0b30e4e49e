-- A table without a primary key gets a numbering one; rows are addressed by the unique key.
CREATE TABLE t (
  code VARCHAR(20) NOT NULL,
  v INT NULL,
  d DATETIME NULL,
  UNIQUE KEY uk_code (code)
);
