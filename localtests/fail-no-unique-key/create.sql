CREATE TABLE t (
  id INT NOT NULL,
  v INT NULL,
  KEY idx_id (id)
);
INSERT INTO t VALUES (1, 1), (1, 1), (2, NULL);
