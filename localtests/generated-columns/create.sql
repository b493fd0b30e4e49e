CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  x INT NULL,
  y INT NULL,
  g_v BIGINT AS (x + y) VIRTUAL,
  g_s VARCHAR(30) AS (CONCAT(x, '-', y)) STORED,
  KEY idx_g_s (g_s)
);
