CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  e ENUM('new', 'paid', 'shipped', 'legacy') NULL,
  s SET('a', 'b', 'c') NULL
);
INSERT INTO t VALUES (1, 'new', 'a'), (2, 'legacy', 'a,b'), (3, 'paid', 'c'), (4, 'legacy', 'b');
