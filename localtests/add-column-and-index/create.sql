CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(40) NOT NULL DEFAULT '',
  qty INT NULL,
  note TEXT NULL,
  KEY idx_name (name)
);
