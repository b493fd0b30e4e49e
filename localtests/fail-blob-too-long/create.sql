-- MariaDB's INSERT … SELECT stores an empty value, without a warning, for a BLOB copied into a
-- shorter one; the native ALTER refuses the row. doppel counts such rows first.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  b BLOB NULL
);
INSERT INTO t VALUES (1, REPEAT('x', 255)), (2, REPEAT('x', 256)), (3, NULL);
