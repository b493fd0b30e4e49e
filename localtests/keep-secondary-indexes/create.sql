-- Secondary indexes kept on the ghost during the copy rather than built after it.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  v INT NULL,
  s VARCHAR(30) NULL,
  d DATETIME(3) NULL,
  KEY idx_v (v),
  KEY idx_s_d (s, d)
);
