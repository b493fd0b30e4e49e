-- Four chunks copied at once along a composite key.
CREATE TABLE t (
  a INT NOT NULL,
  b VARCHAR(12) COLLATE utf8mb4_general_ci NOT NULL,
  v BIGINT NULL,
  note VARCHAR(40) NULL,
  PRIMARY KEY (a, b),
  KEY idx_v (v)
);
