-- A key with an ENUM part: ENUM values sort by member number, which the binlog gives; doppel reads
-- and compares the key's ENUM by number. The ALTER adds a member at the end (numbers kept).
CREATE TABLE t (
  region ENUM('eu','us','apac') NOT NULL,
  id INT NOT NULL,
  v INT NULL,
  PRIMARY KEY (region, id)
);
