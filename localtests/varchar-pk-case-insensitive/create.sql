-- The load updates keys to other cases of themselves ('abc' → 'ABC'): the same key for the
-- collation, other bytes.
CREATE TABLE t (
  k VARCHAR(32) COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY,
  v INT NULL,
  w VARCHAR(10) NULL
);
