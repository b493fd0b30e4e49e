package copier

import (
	"reflect"
	"testing"
)

func TestParentLocks(t *testing.T) {
	tests := []struct {
		name    string
		parents []Parent
		want    []string
	}{
		{"none", nil, []string{}},
		{"one column", []Parent{{Table: "`d`.`p`", Columns: []string{"pid"}, RefColumns: []string{"id"}}}, []string{
			"SELECT 1 FROM (SELECT DISTINCT `pid` AS `c0` FROM `d`.`t` FORCE INDEX (`PRIMARY`) WHERE `id` > ?) x STRAIGHT_JOIN `d`.`p` p ON p.`id` = x.`c0` LOCK IN SHARE MODE",
		}},
		{"two parents, multi-column, backticks, another schema", []Parent{
			{Table: "`d`.`p`", Columns: []string{"pid"}, RefColumns: []string{"id"}},
			{Table: "`o`.`q``r`", Columns: []string{"a", "b`c"}, RefColumns: []string{"x", "y"}},
		}, []string{
			"SELECT 1 FROM (SELECT DISTINCT `pid` AS `c0` FROM `d`.`t` FORCE INDEX (`PRIMARY`) WHERE `id` > ?) x STRAIGHT_JOIN `d`.`p` p ON p.`id` = x.`c0` LOCK IN SHARE MODE",
			"SELECT 1 FROM (SELECT DISTINCT `a` AS `c0`, `b``c` AS `c1` FROM `d`.`t` FORCE INDEX (`PRIMARY`) WHERE `id` > ?) x STRAIGHT_JOIN `o`.`q``r` p ON p.`x` = x.`c0` AND p.`y` = x.`c1` LOCK IN SHARE MODE",
		}},
	}
	for _, tt := range tests {
		if got := parentLocks("`d`.`t`", "PRIMARY", "`id` > ?", tt.parents); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}
