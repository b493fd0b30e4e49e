-- The column comes back empty (its default), as with a native ALTER: its old values must not
-- be copied or replayed into it.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  c INT NOT NULL DEFAULT 1,
  v VARCHAR(10) NULL
);
