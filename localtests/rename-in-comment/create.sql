-- The ALTER hides a rename in an executable comment that MariaDB runs (/*M!…*/), and a DROP COLUMN
-- in two that it does not: one for a later version, one for MySQL 5.7 syntax, which MariaDB ignores
-- in /*!…*/. doppel reads and runs the ALTER as the server does, so the table ends as the native
-- ALTER leaves it, with the values of w under w2 and v still there.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  v INT NULL,
  w VARCHAR(20) NULL
);
