package migration

import (
	"testing"
	"time"

	"github.com/doppel-sql/doppel/table"
)

func TestBuildEstimate(t *testing.T) {
	for _, tc := range []struct {
		rows    int64
		indexes int
		want    time.Duration
	}{
		{0, 2, 0},
		{1_000_000, 2, 2600 * time.Millisecond},
		{2_000_000, 1, 2600 * time.Millisecond},
		{1_000_000_000, 3, 3900 * time.Second},
	} {
		if got := buildEstimate(tc.rows, tc.indexes); got != tc.want {
			t.Errorf("buildEstimate(%d, %d) = %s, want %s", tc.rows, tc.indexes, got, tc.want)
		}
	}
}

func TestDeferrableIndexes(t *testing.T) {
	col := []table.IndexColumn{{Name: "a"}}
	orig := &table.Table{Indexes: []table.Index{{Name: "PRIMARY", Kind: "BTREE", Unique: true, Columns: col}, {Name: "k", Kind: "BTREE", Columns: col}}}
	for _, tc := range []struct {
		name   string
		probed *table.Table
		want   int
	}{
		{"no probe: the original's", nil, 1},
		{"the probe's: plain BTREE only", &table.Table{Indexes: []table.Index{
			{Name: "PRIMARY", Kind: "BTREE", Unique: true, Columns: col},
			{Name: "k", Kind: "BTREE", Columns: col},
			{Name: "k2", Kind: "BTREE", Columns: col},
			{Name: "u", Kind: "BTREE", Unique: true, Columns: col},
			{Name: "f", Kind: "FULLTEXT", Columns: col},
			{Name: "e", Kind: "BTREE", Expression: true, Columns: col},
		}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := deferrableIndexes(tc.probed, orig); got != tc.want {
				t.Errorf("deferrableIndexes = %d, want %d", got, tc.want)
			}
		})
	}
}
