-- Every text type in latin1, converted: TEXT becomes MEDIUMTEXT. ENUM and SET members are ASCII:
-- MariaDB 10.11's own CONVERT TO CHARACTER SET fails ("Data truncated") on rows holding a non-ASCII
-- member of a latin1 ENUM or SET, so the oracle could not be altered.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(40) NULL,
  bio TEXT NULL,
  c CHAR(5) NULL,
  e ENUM('a','b','c') NULL,
  s SET('x','y','z') NULL,
  KEY idx_name (name)
) DEFAULT CHARSET=latin1;
