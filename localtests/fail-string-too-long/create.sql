CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  s VARCHAR(20) CHARACTER SET utf8mb4 NULL,
  b VARBINARY(20) NULL
);
-- 'ééé' is 3 characters (fits VARCHAR(3)) but 6 bytes (does not fit VARBINARY(4)).
INSERT INTO t VALUES (1, 'abc', 'abcd'), (2, 'abcd', 'ab'), (3, 'ééé', 'ééé'), (4, 'ab  c', NULL);
