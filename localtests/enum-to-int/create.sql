-- A native ALTER turns each member into its number. The load leaves the column alone (a member
-- name written into the INT column after the swap would fail), so its values reach the ghost by
-- the copy and in the full row images of the other columns' changes.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  e ENUM('x','y','z') NOT NULL DEFAULT 'y',
  s SET('r','w','x') NULL,
  v VARCHAR(20) NULL
);
