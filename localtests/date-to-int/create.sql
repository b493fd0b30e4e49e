-- A native ALTER turns a date into the number YYYYMMDD (a datetime into YYYYMMDDhhmmss). The load
-- leaves the columns alone; their values reach the ghost by the copy and in the row images of the
-- other columns' changes.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  d DATE NULL,
  dt DATETIME NULL,
  v VARCHAR(20) NULL
);
