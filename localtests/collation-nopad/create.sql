-- MariaDB's NO PAD and UCA 14.0 collations, which the SQL parser did not know.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(40) NULL,
  bio TEXT NULL,
  c CHAR(10) NULL,
  KEY idx_name (name)
) DEFAULT CHARSET=utf8mb4;
