-- No PRIMARY KEY, a UNIQUE key of NOT NULL columns: the ALTER makes it the PRIMARY KEY.
CREATE TABLE t (
  tenant INT NOT NULL,
  code VARCHAR(12) NOT NULL,
  v INT NULL,
  UNIQUE KEY uk_tenant_code (tenant, code)
);
