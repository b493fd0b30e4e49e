CREATE TABLE t (
  id BIGINT NOT NULL PRIMARY KEY,
  name VARCHAR(50) COLLATE utf8mb4_unicode_ci NULL,
  bio TEXT NULL,
  tag CHAR(4) COLLATE utf8mb4_bin NULL,
  tiny TINYTEXT NULL,
  KEY idx_name (name)
) DEFAULT CHARSET=utf8mb4;
