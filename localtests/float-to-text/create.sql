-- A native ALTER prints a FLOAT with its own digits (3.14159); an INSERT … SELECT prints it with as
-- many as the string column has room for (3.141590118408203). The load leaves the columns alone (a
-- number written into them after the swap is stored as the literal's text, while the oracle turns it
-- into a FLOAT first), so their values reach the ghost by the copy and in the row images of the
-- other columns' changes.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  f FLOAT NULL,
  d DOUBLE NULL,
  v VARCHAR(20) NULL
);
