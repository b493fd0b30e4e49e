-- The classic "running out of ids" migration, on a table that holds a negative id: BIGINT UNSIGNED
-- cannot hold it, and the native ALTER fails on it too.
CREATE TABLE t (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  v VARCHAR(20) NULL
);
INSERT INTO t VALUES (1, 'a'), (2, 'b'), (-5, 'negative'), (2147483647, 'last');
