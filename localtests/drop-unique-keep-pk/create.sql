-- A secondary unique key dropped, the PRIMARY KEY kept: iterated on the PRIMARY KEY.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  email VARCHAR(40) NOT NULL,
  v INT NULL,
  UNIQUE KEY uk_email (email)
);
