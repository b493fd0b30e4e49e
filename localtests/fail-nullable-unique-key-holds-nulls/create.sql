-- With --allow-nullable-unique-key doppel counts the NULLs in the key before it creates anything: 2 here.
CREATE TABLE t (
  id INT NULL,
  v INT NULL,
  UNIQUE KEY uk_id (id)
);
INSERT INTO t VALUES (1, 1), (NULL, 2), (NULL, 3);
