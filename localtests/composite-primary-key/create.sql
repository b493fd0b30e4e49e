-- The load changes every part of the key; a case-insensitive text part gets case-only changes.
CREATE TABLE t (
  tenant SMALLINT NOT NULL,
  code VARCHAR(8) COLLATE utf8mb4_general_ci NOT NULL,
  seq INT UNSIGNED NOT NULL,
  payload VARCHAR(50) NULL,
  amount BIGINT NULL,
  PRIMARY KEY (tenant, code, seq)
);
