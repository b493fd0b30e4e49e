-- A BIT(64) key: values with the top bit set arrive from the binlog as negative integers, and a
-- replayed delete or key change must still find its row.
CREATE TABLE t (
  id BIT(64) NOT NULL PRIMARY KEY,
  v VARCHAR(20) NULL,
  n INT NULL
);
