-- A table with a SPATIAL index on a POINT and a GEOMETRY column keeps every shape byte for byte.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  p POINT NOT NULL,
  g GEOMETRY NULL,
  v INT NULL,
  SPATIAL INDEX sp (p)
);
