-- Every replayed change in a transaction of its own: nothing is collapsed.
CREATE TABLE t (
  id BIGINT NOT NULL PRIMARY KEY,
  v VARCHAR(30) NULL,
  n INT NULL
);
