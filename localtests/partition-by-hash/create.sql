-- Partitioning a table keeps every row: the ghost is partitioned and the copy fills it.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  v INT NULL,
  s VARCHAR(20) NULL
);
