-- ADD PARTITION above the last range. MOD keeps every value the load writes within the ranges.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  v INT NULL
) PARTITION BY RANGE (MOD(id, 10)) (
  PARTITION plow VALUES LESS THAN (5),
  PARTITION phigh VALUES LESS THAN (10)
);
