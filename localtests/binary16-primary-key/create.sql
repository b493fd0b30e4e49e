-- Keys of 16 arbitrary bytes, often ending in zero bytes (BINARY pads with them).
CREATE TABLE t (
  id BINARY(16) NOT NULL PRIMARY KEY,
  v VARCHAR(20) NULL,
  b VARBINARY(16) NULL
);
