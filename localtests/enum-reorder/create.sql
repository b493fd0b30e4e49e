-- The binlog carries ENUM and SET values as numbers: index and bitmask of the old definition.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  e ENUM('small','medium','large') NOT NULL DEFAULT 'small',
  e2 ENUM('x','y') NULL,
  s SET('a','b','c') NULL
);
