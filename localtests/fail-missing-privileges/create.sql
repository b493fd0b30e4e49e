CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  v INT NULL,
  w VARCHAR(20) NULL
);
INSERT INTO t VALUES (1, 10, 'a'), (2, 20, 'b'), (3, NULL, NULL);
-- A user that may read but not create, alter or drop anything.
CREATE USER IF NOT EXISTS 'localtests_reader'@'%';
-- (SLAVE MONITOR: MariaDB's privilege to ask a server whether it is a replica.)
GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT, SLAVE MONITOR ON *.* TO 'localtests_reader'@'%';
