-- Splitting a partition keeps every row: the ghost is partitioned the new way and the copy fills it.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  v INT NULL,
  s VARCHAR(20) NULL
) PARTITION BY RANGE (id) (
  PARTITION p0 VALUES LESS THAN (1000),
  PARTITION pmax VALUES LESS THAN MAXVALUE
);
