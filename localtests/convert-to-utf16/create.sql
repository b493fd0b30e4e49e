-- latin1 text of every kind converted to UTF-16, a character set the SQL parser did not know.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  name VARCHAR(40) NULL,
  bio TEXT NULL,
  c CHAR(5) NULL,
  KEY idx_name (name)
) DEFAULT CHARSET=latin1;
-- No ENUM here: MariaDB 10.11 turns latin1 ENUM members into '?' when it converts them to utf16,
-- so a native ALTER of such a table fails (Data truncated) as doppel's copy does.
