-- The load runs in time_zone +05:30: TIMESTAMPs are written and read in it, stored in UTC.
-- A TIMESTAMP is part of the primary key, so the copy's ranges and the replay's keys use it too.
CREATE TABLE t (
  k_ts TIMESTAMP(6) NOT NULL,
  id INT NOT NULL,
  d DATE NULL,
  dt DATETIME(6) NULL,
  dt0 DATETIME NULL,
  ts TIMESTAMP(6) NULL,
  ts0 TIMESTAMP NULL,
  tm TIME(6) NULL,
  PRIMARY KEY (k_ts, id)
);
