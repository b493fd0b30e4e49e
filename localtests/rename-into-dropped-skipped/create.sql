-- b takes the name of a, which the ALTER drops: with --skip-renamed-columns (gh-ost's meaning: the
-- renamed column is dropped and the new one added) the new a starts from its default (7, b's), neither b's
-- values nor the dropped a's. The native ALTER carries b's values over, so the oracle's a is reset
-- to its default after it (oracle_defaults).
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  a INT NULL,
  b INT NULL DEFAULT 7,
  v VARCHAR(20) NULL
);
