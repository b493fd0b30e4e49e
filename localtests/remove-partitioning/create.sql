-- REMOVE PARTITIONING: the ghost is one table, every row copied into it.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  v INT NULL,
  s VARCHAR(20) NULL
) PARTITION BY HASH (id) PARTITIONS 4;
