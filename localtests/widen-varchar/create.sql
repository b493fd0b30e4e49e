-- CHAR to VARCHAR too: CHAR drops trailing spaces, the copy and the replay must agree.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  v VARCHAR(10) NOT NULL DEFAULT '',
  c CHAR(6) NULL,
  KEY idx_v (v)
);
