package plan

import (
	"strings"
	"testing"
	"time"
)

func TestIndexBuildFinding(t *testing.T) {
	for _, tc := range []struct {
		name, alter string
		indexes     int
		finding     string // "" for none
	}{
		{"a copy: the table's own index", "MODIFY note MEDIUMTEXT", 1, "keeps the 1 plain secondary index(es)"},
		{"instant: no copy, no finding", "ADD COLUMN c INT NULL", 1, ""},
		{"an index added", "ADD COLUMN c INT NULL, ADD INDEX idx_c (c, name)", 2, "in about 2.6s"},
		{"the only index dropped", "DROP INDEX idx_name, MODIFY note MEDIUMTEXT", 0, ""},
		{"a unique key does not count", "ADD UNIQUE KEY uk_name (name), MODIFY note MEDIUMTEXT", 1, "keeps the 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := flavor(t, ma1011)
			tbl := tableFromCreate(t, orders)
			r, p := classify(f, tbl, readAlter(t, f, tbl.Name, tc.alter), links{})
			if got := p.plainIndexesAfter(); got != tc.indexes {
				t.Fatalf("plainIndexesAfter = %d, want %d", got, tc.indexes)
			}
			r.Size = &Size{Rows: 1_000_000}
			before := len(r.Findings)
			p.indexFinding(r)
			switch {
			case tc.finding == "" && len(r.Findings) != before:
				t.Errorf("finding %+v, want none", r.Findings[before:])
			case tc.finding != "" && (len(r.Findings) != before+1 || !strings.Contains(r.Findings[before].Message, tc.finding) || r.Findings[before].Risk != Safe):
				t.Errorf("findings %+v, want one, safe, saying %q", r.Findings[before:], tc.finding)
			}
		})
	}
	if got := IndexBuildEstimate(2_000_000, 2); got != 5200*time.Millisecond {
		t.Errorf("IndexBuildEstimate(2M, 2) = %s", got)
	}
}
