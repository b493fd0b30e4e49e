-- 64 characters, the longest name the server allows: "_T_gho" would have 68, so doppel's helper
-- tables get a prefix of the name and a hash of it (table.GhostName, table.SentryName).
CREATE TABLE txxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx (
  id INT NOT NULL PRIMARY KEY,
  v INT NULL,
  s VARCHAR(20) NULL
);
