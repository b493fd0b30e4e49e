-- COALESCE PARTITION: four HASH partitions become two; every row is rehashed into the ghost.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  v INT NULL
) PARTITION BY HASH (id) PARTITIONS 4;
