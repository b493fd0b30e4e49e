-- b takes the name of a, which the ALTER drops: with --approve-renamed-columns the new a holds b's
-- values, as with the native ALTER. CHANGE c c keeps c (no rename). The load leaves a alone: after
-- the swap a is another column in the table than in the oracle until the oracle is altered.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  a INT NULL,
  b INT NULL,
  c INT NULL,
  v VARCHAR(20) NULL
);
