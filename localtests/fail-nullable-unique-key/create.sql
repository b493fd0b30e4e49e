CREATE TABLE t (
  id INT NULL,
  v INT NULL,
  UNIQUE KEY uk_id (id)
);
INSERT INTO t VALUES (1, 1), (NULL, 2), (NULL, 3);
