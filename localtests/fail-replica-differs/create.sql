CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  v INT NULL,
  w VARCHAR(20) NULL
);
INSERT INTO t VALUES (1, 10, 'a'), (2, 20, 'b'), (3, NULL, NULL);
-- The primary alone gets a column: replication is broken for this table.
SET SESSION sql_log_bin = 0;
ALTER TABLE t ADD COLUMN only_on_primary INT NULL;
SET SESSION sql_log_bin = 1;
