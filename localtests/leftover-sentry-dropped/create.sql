-- An empty cut-over sentry left by a run that died mid-swap (it carries the sentry's comment):
-- doppel drops it by itself, without --initially-drop-old-table.
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  v VARCHAR(30) NULL
);
CREATE TABLE _t_del (id INT PRIMARY KEY) COMMENT='doppel cut-over sentry';
