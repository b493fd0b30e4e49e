-- MariaDB column attributes and types the SQL parser does not know: doppel reads them as syntax it
-- knows for its own checks and runs the clause as written.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  v VARCHAR(60) NULL,
  n INT NULL
);
