package alter

import (
	"reflect"
	"testing"
)

// FuzzParse: Parse never panics, and what it accepts it reads back the same from its own Clause:
// the clause doppel runs and checks means what the user's text meant.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"ADD COLUMN x INT NULL, ADD INDEX (x)",
		"ALTER TABLE `d`.`t` CHANGE COLUMN a b INT NOT NULL",
		"DROP COLUMN c, RENAME COLUMN a TO c",
		"/*!50700 ADD COLUMN y INT */ -- c\n, DROP PARTITION p0",
		"/*M!100500 ADD COLUMN ip INET6 NULL INVISIBLE */",
		"MODIFY v VARCHAR(10) CHARACTER SET utf8mb3 COLLATE utf8mb3_polish_nopad_ci",
		"ADD COLUMN p POINT NOT NULL, ADD SPATIAL INDEX sp (p)",
		"ADD COLUMN d INT DEFAULT (a + 1), AUTO_INCREMENT = 5",
		"TRUNCATE PARTITION ALL",
		"ADD COLUMN `we``ird` INT; ",
		"PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN MAXVALUE)",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		a, err := Parse(text, "d", "t", mariadbCharsets)
		if err != nil {
			return
		}
		again, err := Parse(a.Clause, "d", "t", mariadbCharsets)
		if err != nil {
			t.Fatalf("Parse(%q) gave the clause %q, which does not parse again: %v", text, a.Clause, err)
		}
		if again.Clause != a.Clause || !reflect.DeepEqual(again.Renames, a.Renames) || !reflect.DeepEqual(again.Dropped, a.Dropped) ||
			again.AtSwap != a.AtSwap || again.SetsAutoIncrement != a.SetsAutoIncrement || len(again.Specs) != len(a.Specs) {
			t.Fatalf("Parse(%q) = %+v, but its clause reads as %+v", text, a, again)
		}
	})
}
