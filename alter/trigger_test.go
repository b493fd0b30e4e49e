package alter

import "testing"

func TestTriggerDDL(t *testing.T) {
	srv := &Server{MariaDB: true, Version: 101106}
	for _, tc := range []struct {
		query, schema, name, table string
		ok                         bool
	}{
		{"CREATE TRIGGER t_ai AFTER INSERT ON t FOR EACH ROW SET @x = 1", "", "t_ai", "t", true},
		{"CREATE DEFINER=`root`@`localhost` TRIGGER `d`.`t_ai_gho` AFTER INSERT ON `d`.`_t_gho` FOR EACH ROW INSERT INTO a SELECT * FROM t", "d", "t_ai_gho", "_t_gho", true},
		{"CREATE DEFINER=trigger@localhost TRIGGER x BEFORE UPDATE ON t FOR EACH ROW SET NEW.a = 1", "", "x", "t", true},
		{"CREATE OR REPLACE DEFINER=\"u\"@\"h\" TRIGGER IF NOT EXISTS d.`we``ird` BEFORE DELETE ON `a``b` FOR EACH ROW BEGIN END", "d", "we`ird", "a`b", true},
		{"/* c */ DROP TRIGGER IF EXISTS `d`.`t_ai_gho`", "d", "t_ai_gho", "", true},
		{"DROP TRIGGER t_bu", "", "t_bu", "", true},
		{"DROP TABLE t", "", "", "", false},
		{"CREATE TABLE trigger (id INT)", "", "", "", false},
		{"ALTER TABLE t ADD COLUMN x INT", "", "", "", false},
		{"CREATE TRIGGER", "", "", "", false},
	} {
		schema, name, table, ok := TriggerDDL(tc.query, srv)
		if schema != tc.schema || name != tc.name || table != tc.table || ok != tc.ok {
			t.Errorf("TriggerDDL(%q) = %q, %q, %q, %v; want %q, %q, %q, %v", tc.query, schema, name, table, ok, tc.schema, tc.name, tc.table, tc.ok)
		}
	}
}
