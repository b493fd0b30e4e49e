-- Identifiers that need quoting: a backtick, a space, reserved words, non-ASCII letters.
CREATE TABLE `we``ird tablé` (
  `ключ` BIGINT NOT NULL PRIMARY KEY,
  `sel ect` INT NULL,
  `order` VARCHAR(10) NULL,
  `col``umn` INT NULL,
  `naïve` TEXT NULL,
  `from` DATETIME NULL,
  KEY `idx ``y` (`sel ect`)
);
