CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  s VARCHAR(20) CHARACTER SET utf8mb4 NULL
);
INSERT INTO t VALUES (1, 'café'), (2, 'emoji 😀'), (3, 'Ωmega'), (4, NULL);
