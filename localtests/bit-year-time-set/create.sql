CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  b1 BIT(1) NULL,
  b10 BIT(10) NULL,
  b64 BIT(64) NULL,
  y YEAR NULL,
  tm TIME(3) NULL,
  s SET('a','b','c','d') NULL
);
