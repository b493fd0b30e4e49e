-- A key and a unique key change sign as they widen: every value keeps its identity.
CREATE TABLE t (
  id MEDIUMINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  u INT UNSIGNED NULL,
  v VARCHAR(20) NULL,
  UNIQUE KEY uk_u (u)
);
