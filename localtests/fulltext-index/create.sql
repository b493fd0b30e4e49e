-- A table with a FULLTEXT index over two columns: copied and replayed like any other.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  title VARCHAR(200) NULL,
  body TEXT NULL,
  v INT NULL,
  FULLTEXT INDEX ft (title, body)
);
