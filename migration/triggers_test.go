package migration

import (
	"testing"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/internal/binlog"
	"github.com/doppel-sql/doppel/internal/cutover"
	"github.com/doppel-sql/doppel/internal/triggers"
)

// TestDDLWatchTriggers: the twins doppel creates and drops on the ghost are its own, even when
// their bodies name the table; any other trigger statement naming the table stops the migration.
func TestDDLWatchTriggers(t *testing.T) {
	r := &run{cfg: &Config{Database: "db", Table: "t"}, p: &validated{names: namesFor("t"), triggers: []triggers.Move{{Trigger: triggers.Trigger{Name: "t_ai"}, Temp: "t_ai_gho"}}}}
	w := &ddlWatch{schema: "db", table: "t", server: &alter.Server{MariaDB: true, Version: 101106}, guard: cutover.NewGuard("db", "t", "_t_gho", "_t_del"),
		warn: func(string, error) {}, ownTrigger: r.ownTrigger}
	for _, tc := range []struct {
		query, schema string
		stop          bool
	}{
		{"CREATE DEFINER=`root`@`localhost` TRIGGER `db`.`t_ai_gho` AFTER INSERT ON `db`.`_t_gho` FOR EACH ROW INSERT INTO a SELECT COUNT(*) FROM t", "db", false},
		{"CREATE DEFINER=`root`@`localhost` TRIGGER t_ai_gho AFTER INSERT ON _t_gho FOR EACH ROW INSERT INTO a SELECT COUNT(*) FROM t", "db", false},
		{"DROP TRIGGER IF EXISTS `db`.`t_ai_gho`", "db", false},
		{"CREATE TRIGGER `other`.`t_ai_gho` AFTER INSERT ON t FOR EACH ROW SET @x = 1", "db", true},
		{"CREATE TRIGGER t_new AFTER INSERT ON t FOR EACH ROW SET @x = 1", "db", true},
		{"DROP TRIGGER t_ai", "db", false},                                                                               // names no table: found under the cut-over's lock (triggers.Changed)
		{"CREATE TRIGGER t_ai_v1 AFTER INSERT ON _t_gho FOR EACH ROW INSERT INTO a SELECT COUNT(*) FROM t", "db", false}, // an earlier run's twin
		{"CREATE TRIGGER t_ai_gho AFTER INSERT ON other.t FOR EACH ROW SET @x = 1", "other", true},                       // names a t: the watch is cautious
	} {
		if err := w.onDDL(binlog.DDL{Schema: tc.schema, Query: tc.query}); (err != nil) != tc.stop {
			t.Errorf("%q: stopped %v, want %v (%v)", tc.query, err != nil, tc.stop, err)
		}
	}
}
