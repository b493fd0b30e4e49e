-- A second unique key: a replayed REPLACE deletes any row that holds the same value under it.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  email VARCHAR(40) COLLATE utf8mb4_general_ci NULL,
  code BIGINT NOT NULL,
  v INT NULL,
  UNIQUE KEY uk_email (email),
  UNIQUE KEY uk_code (code)
);
