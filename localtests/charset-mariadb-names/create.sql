-- Character sets the SQL parser did not know, named in the ALTER. The load writes ASCII into the
-- ascii columns, which every one of these sets holds.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  a VARCHAR(40) CHARACTER SET ascii NULL,
  b TEXT CHARACTER SET ascii NULL,
  c CHAR(10) CHARACTER SET ascii NULL,
  d VARCHAR(30) CHARACTER SET ascii NULL,
  e VARCHAR(30) CHARACTER SET latin1 NULL,
  KEY idx_a (a)
) DEFAULT CHARSET=utf8mb4;
