-- 64 characters with a backtick, a space, a non-ASCII letter and a '~' (the long sentry's marker):
-- the helper tables' names are cut and hashed, and quoted everywhere.
CREATE TABLE `we``ird tablé ~ with a long name that has sixty-four characters!!` (
  id BIGINT NOT NULL PRIMARY KEY,
  `sel ect` INT NULL,
  name VARCHAR(20) NULL
);
