-- Two columns swap their names: each value follows its column. The load leaves both alone: after
-- the swap a and b are other columns in the table than in the oracle until the oracle is altered.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  a INT NULL,
  b VARCHAR(20) NULL,
  v INT NULL
);
