package table

import "testing"

// TestReadExtra reads EXTRA as MySQL and MariaDB show it. MySQL 8's DEFAULT_GENERATED is a column
// with an expression DEFAULT, whose values are copied like any other's.
func TestReadExtra(t *testing.T) {
	for _, tc := range []struct {
		extra                                 string
		generated, stored, invisible, autoInc bool
	}{
		{"", false, false, false, false},
		{"auto_increment", false, false, false, true},
		{"VIRTUAL GENERATED", true, false, false, false},
		{"STORED GENERATED", true, true, false, false},
		{"PERSISTENT GENERATED", true, true, false, false},
		{"VIRTUAL GENERATED INVISIBLE", true, false, true, false},
		{"DEFAULT_GENERATED", false, false, false, false},
		{"DEFAULT_GENERATED on update CURRENT_TIMESTAMP", false, false, false, false},
		{"DEFAULT_GENERATED INVISIBLE", false, false, true, false},
		{"on update current_timestamp()", false, false, false, false},
		{"INVISIBLE", false, false, true, false},
	} {
		var c Column
		c.readExtra(tc.extra)
		if c.Generated != tc.generated || c.Stored != tc.stored || c.Invisible != tc.invisible || c.AutoInc != tc.autoInc {
			t.Errorf("%q: generated %v, stored %v, invisible %v, auto_increment %v; want %v, %v, %v, %v", tc.extra,
				c.Generated, c.Stored, c.Invisible, c.AutoInc, tc.generated, tc.stored, tc.invisible, tc.autoInc)
		}
	}
}
