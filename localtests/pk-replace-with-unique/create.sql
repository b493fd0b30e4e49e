-- The PRIMARY KEY and a unique key change places. id stays unique (as uk_id): without it the load's
-- REPLACEs, which go on after the swap, would mean something else in the migrated table than in the
-- oracle (a REPLACE colliding on id deletes a row in one and not in the other). Dropping id's
-- uniqueness outright works the same way in doppel (it iterates uk_code → PRIMARY).
CREATE TABLE t (
  id INT NOT NULL,
  code VARCHAR(16) NOT NULL,
  v INT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_code (code)
);
