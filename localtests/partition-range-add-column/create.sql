-- A RANGE-partitioned table (by year, the key extended by the partitioning column, as usual):
-- a column added through the ghost, which is partitioned the same way.
CREATE TABLE t (
  id INT NOT NULL,
  created DATE NOT NULL,
  v INT NULL,
  PRIMARY KEY (id, created)
) PARTITION BY RANGE (YEAR(created)) (
  PARTITION p1999 VALUES LESS THAN (2000),
  PARTITION p2020 VALUES LESS THAN (2021),
  PARTITION pmax VALUES LESS THAN MAXVALUE
);
