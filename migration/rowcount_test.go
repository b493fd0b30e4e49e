package migration

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestExactRowCount counts the rows before the copy and alongside it (--exact-rowcount, with and
// without --concurrent-rowcount), and keeps the old table under a timestamped name
// (--timestamp-old-table).
func TestExactRowCount(t *testing.T) {
	for _, concurrent := range []bool{false, true} {
		name := "first"
		if concurrent {
			name = "alongside"
		}
		t.Run(name, func(t *testing.T) {
			schema, db := newTable(t, 3000)
			exec(t, db, "DELETE FROM t WHERE id % 3 = 0") // 2000 rows left
			cfg := testConfig(schema, "ADD COLUMN x INT NULL")
			cfg.ExactRowCount, cfg.ConcurrentRowCount, cfg.TimestampOldTable = true, concurrent, true
			core, logs := observer.New(zap.InfoLevel)
			cfg.Logger = zap.New(core)
			var out bytes.Buffer
			cfg.Out = &out
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			counted := logs.FilterMessage("row count complete").All()
			if len(counted) != 1 || counted[0].ContextMap()["rows"] != int64(2000) {
				t.Errorf("row count logs %+v, want one with 2000 rows", counted)
			}
			wantPlan := "rows       2000 (counted, --exact-rowcount)"
			if concurrent {
				wantPlan = "--exact-rowcount counts them during the copy"
			}
			if !bytes.Contains(out.Bytes(), []byte(wantPlan)) {
				t.Errorf("the plan does not say %q:\n%s", wantPlan, out.String())
			}
			if !regexp.MustCompile(`^_t_\d{14}_del$`).MatchString(res.OldTable) {
				t.Errorf("old table %q, want _t_<timestamp>_del", res.OldTable)
			}
			if got, want := tableList(t, db), res.OldTable+",_t_ghr,t"; got != want {
				t.Errorf("tables %q, want %q", got, want)
			}
		})
	}
}
