-- A native ALTER widens each FLOAT to the DOUBLE of the same value (0.1f becomes
-- 0.10000000149011612): the replay must too.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  f FLOAT NULL
);
