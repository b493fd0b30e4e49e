-- Adding a SPATIAL index: the ghost gets it, the shapes are copied and replayed as stored.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  p POINT NOT NULL,
  l LINESTRING NULL,
  v INT NULL
);
