-- BIT(64) values with the top bit set arrive from the binlog as negative integers; a native ALTER
-- keeps the 64 bits as the unsigned number.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  b BIT(64) NULL,
  v VARCHAR(20) NULL
);
