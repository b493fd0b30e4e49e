-- Adding a FULLTEXT index (InnoDB adds its FTS_DOC_ID internally).
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  title VARCHAR(200) NULL,
  body TEXT NULL
);
