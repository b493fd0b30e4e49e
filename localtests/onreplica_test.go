package localtests

import (
	"context"
	"database/sql"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/loadgen"
)

// TestOnReplica runs gh-ost's rehearsal and replica-only migration against the sandbox's replica
// while the primary takes writes. --test-on-replica migrates the replica's table, stops replication
// at the cut-over, swaps and swaps back: the original is in place, the migrated table beside it holds
// the same rows, replication stays stopped, and the primary is untouched. --migrate-on-replica
// migrates the replica's table for good, and replication goes on into it.
func TestOnReplica(t *testing.T) {
	bin := buildDoppel(t)
	for _, mode := range []string{"--test-on-replica", "--migrate-on-replica"} {
		t.Run(strings.TrimPrefix(mode, "--"), func(t *testing.T) {
			schema := sb.NewDatabase(t)
			primary, err := dbconn.Open(sb.Primary.Config(), schema)
			if err != nil {
				t.Fatal(err)
			}
			defer primary.Close()
			replica, err := dbconn.Open(sb.Replica.Config(), schema)
			if err != nil {
				t.Fatal(err)
			}
			defer replica.Close()
			replicaAdmin, err := sb.Replica.DB("")
			if err != nil {
				t.Fatal(err)
			}
			defer replicaAdmin.Close()
			// Whatever happens, the replica replicates again for the next test.
			defer func() { _, _ = replicaAdmin.Exec("START SLAVE") }()
			for _, q := range []string{
				"CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v VARCHAR(40) NOT NULL, n INT NULL)",
				"INSERT INTO t SELECT seq, CONCAT('v', seq), seq FROM seq_1_to_5000",
			} {
				if _, err := primary.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if err := sb.WaitReplica(ctx); err != nil {
				t.Fatal(err)
			}
			before := showCreate(t, primary, "t")
			stop := writeOnPrimary(t, primary)
			rc := sb.Replica.Config()
			out, err := exec.CommandContext(ctx, bin, "--host="+rc.Host, "--port="+strconv.Itoa(rc.Port), "--user="+rc.User,
				"--database="+schema, "--table=t", "--alter=ADD COLUMN x INT NULL", "--execute", mode, "--chunk-size=200",
				"--serve-socket-file="+filepath.Join(t.TempDir(), "s.sock"), "--throttle-additional-flag-file=",
				"--replica-server-id=3950").CombinedOutput()
			stop()
			if err != nil {
				t.Fatalf("doppel %s: %v\n%s", mode, err, tail(string(out)))
			}
			if got := showCreate(t, primary, "t"); got != before {
				t.Errorf("the primary's table changed:\n%s", got)
			}
			if n := countTables(t, primary, schema, "_t_%"); n != 0 {
				t.Errorf("%d helper tables on the primary", n)
			}
			switch mode {
			case "--test-on-replica":
				if !strings.Contains(string(out), "rehearsal done") || !strings.Contains(string(out), "replication is stopped") ||
					!strings.Contains(string(out), "rehearsal report (what the run on the primary will cost): copy ") || !strings.Contains(string(out), "peak replica lag") {
					t.Errorf("no rehearsal report:\n%s", tail(string(out)))
				}
				if running := sqlThreadRunning(t, replicaAdmin); running {
					t.Error("replication runs again after the rehearsal; it must stay stopped for the comparison")
				}
				if strings.Contains(showCreate(t, replica, "t"), "`x`") || !strings.Contains(showCreate(t, replica, "_t_gho"), "`x`") {
					t.Errorf("after the rehearsal the replica's t must be the original and _t_gho the migrated table:\n%s\n%s", showCreate(t, replica, "t"), showCreate(t, replica, "_t_gho"))
				}
				// Both as of the moment replication stopped: the same rows over the shared columns.
				if err := loadgen.Compare(ctx, replica, schema, "t", "_t_gho", []string{"id"}); err != nil {
					t.Errorf("the rehearsal's migrated table differs from the original: %v", err)
				}
				if _, err := replica.Exec("DROP TABLE _t_gho"); err != nil {
					t.Fatal(err)
				}
				if _, err := replicaAdmin.Exec("START SLAVE"); err != nil {
					t.Fatal(err)
				}
			case "--migrate-on-replica":
				if !strings.Contains(showCreate(t, replica, "t"), "`x`") {
					t.Errorf("the replica's table is not migrated:\n%s", showCreate(t, replica, "t"))
				}
				if !sqlThreadRunning(t, replicaAdmin) {
					t.Error("replication is stopped after --migrate-on-replica")
				}
			}
			if err := sb.WaitReplica(ctx); err != nil {
				t.Fatal(err)
			}
			// The writes made during and after the run reached the replica's table (the original or
			// the migrated one): it holds the primary's rows.
			if err := loadgen.CompareTables(ctx, loadgen.Side{DB: primary, Schema: schema, Table: "t"}, loadgen.Side{DB: replica, Schema: schema, Table: "t"}, []string{"id"}); err != nil {
				t.Errorf("the replica's table differs from the primary's: %v", err)
			}
		})
	}
}

// writeOnPrimary updates, inserts and deletes rows of t on the primary until stop is called.
func writeOnPrimary(t *testing.T, db *sql.DB) (stop func()) {
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		for i := 1; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			for _, q := range []string{
				fmt.Sprintf("UPDATE t SET n = n + 1, v = 'w%d' WHERE id = %d", i, 1+i%5000),
				fmt.Sprintf("INSERT INTO t VALUES (%d, 'new', %d)", 100000+i, i),
				fmt.Sprintf("DELETE FROM t WHERE id = %d", 100000+i-3),
			} {
				if _, err := db.Exec(q); err != nil {
					t.Errorf("writing on the primary: %v", err)
					return
				}
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); <-ended }) }
}

func showCreate(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var n, ddl string
	if err := db.QueryRow("SHOW CREATE TABLE `"+name+"`").Scan(&n, &ddl); err != nil {
		t.Fatal(err)
	}
	return ddl
}

func countTables(t *testing.T, db *sql.DB, schema, like string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE ?", schema, like).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func sqlThreadRunning(t *testing.T, db *sql.DB) bool {
	t.Helper()
	st, _, err := dbconn.ReadReplicaStatus(context.Background(), db, sb.Flavor)
	if err != nil {
		t.Fatal(err)
	}
	return st.SQLRunning
}
