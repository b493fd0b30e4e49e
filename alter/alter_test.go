package alter

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name        string
		alter       string
		clause      string
		renames     map[string]string
		recreated   []string
		setsAutoInc bool
		err         string
	}{
		{name: "add column and index", alter: "ADD COLUMN x INT NULL, ADD INDEX (x)", clause: "ADD COLUMN x INT NULL, ADD INDEX (x)", renames: map[string]string{}},
		{name: "whole statement", alter: "ALTER TABLE `t` ADD COLUMN x INT;", clause: "ADD COLUMN x INT", renames: map[string]string{}},
		{name: "whole statement with schema", alter: "alter table db.t drop column c", clause: "drop column c", renames: map[string]string{}},
		{name: "quoted name with backtick", alter: "ALTER TABLE `we``ird` ENGINE=InnoDB", clause: "ENGINE=InnoDB", renames: map[string]string{}, err: "names table"},
		{name: "other table", alter: "ALTER TABLE u ADD COLUMN x INT", err: `names table "u"`},
		{name: "change column renames", alter: "CHANGE COLUMN a b INT NOT NULL", clause: "CHANGE COLUMN a b INT NOT NULL", renames: map[string]string{"a": "b"}},
		{name: "change column same name", alter: "CHANGE COLUMN a a BIGINT", clause: "CHANGE COLUMN a a BIGINT", renames: map[string]string{}},
		{name: "change column case only", alter: "CHANGE a A BIGINT", clause: "CHANGE a A BIGINT", renames: map[string]string{}},
		{name: "rename column", alter: "RENAME COLUMN `old name` TO `new name`", clause: "RENAME COLUMN `old name` TO `new name`", renames: map[string]string{"old name": "new name"}},
		{name: "drop and add again", alter: "DROP COLUMN c, ADD COLUMN c INT", clause: "DROP COLUMN c, ADD COLUMN c INT", renames: map[string]string{}, recreated: []string{"c"}},
		{name: "rename table", alter: "RENAME TO u", err: "renames the table"},
		{name: "rename table among others", alter: "ADD COLUMN x INT, RENAME TO u", err: "renames the table"},
		{name: "foreign key", alter: "ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (id)", err: "FOREIGN KEY"},
		{name: "algorithm", alter: "ADD COLUMN x INT, ALGORITHM=INPLACE", err: "ALGORITHM="},
		{name: "discard tablespace", alter: "DISCARD TABLESPACE", err: "maintenance"},
		{name: "garbage", alter: "ADD COLUMNN x INT", err: "cannot parse"},
		{name: "empty", alter: "  ", err: "empty"},
		{name: "two statements", alter: "ADD COLUMN x INT; DROP TABLE t", err: "cannot parse"},
		{name: "mariadb invisible", alter: "ADD COLUMN x INT INVISIBLE", err: "MariaDB-only"},
		{name: "auto increment option", alter: "AUTO_INCREMENT = 1000", clause: "AUTO_INCREMENT = 1000", renames: map[string]string{}, setsAutoInc: true},
		{name: "unicode names", alter: "ADD COLUMN `prénom 😀` VARCHAR(10)", clause: "ADD COLUMN `prénom 😀` VARCHAR(10)", renames: map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := "t"
			if strings.Contains(tc.alter, "we``ird") {
				table = "other"
			}
			a, err := Parse(tc.alter, table)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Clause != tc.clause {
				t.Errorf("clause %q, want %q", a.Clause, tc.clause)
			}
			if !reflect.DeepEqual(a.Renames, tc.renames) {
				t.Errorf("renames %v, want %v", a.Renames, tc.renames)
			}
			if a.SetsAutoIncrement != tc.setsAutoInc {
				t.Errorf("SetsAutoIncrement %v, want %v", a.SetsAutoIncrement, tc.setsAutoInc)
			}
			if !reflect.DeepEqual(a.Recreated, tc.recreated) {
				t.Errorf("recreated %v, want %v", a.Recreated, tc.recreated)
			}
		})
	}
}

func TestStripAlterTable(t *testing.T) {
	for _, tc := range []struct{ in, rest, table string }{
		{"ALTER TABLE t ADD x INT", "ADD x INT", "t"},
		{"alter\ttable\n`a``b`.`c d` ENGINE=InnoDB", "ENGINE=InnoDB", "c d"},
		{"ALTER TABLE db.t FORCE", "FORCE", "t"},
	} {
		rest, table, ok := stripAlterTable(tc.in)
		if !ok || rest != tc.rest || table != tc.table {
			t.Errorf("%q: got (%q, %q, %v), want (%q, %q)", tc.in, rest, table, ok, tc.rest, tc.table)
		}
	}
	for _, in := range []string{"ADD COLUMN x INT", "ALTERTABLE t", "ALTER TABLE `unterminated"} {
		if _, _, ok := stripAlterTable(in); ok {
			t.Errorf("%q: stripped, want not", in)
		}
	}
}
