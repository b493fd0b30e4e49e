package sandbox

import (
	"context"
	"database/sql"
	"testing"
	"time"
)

var sb *Sandbox

func TestMain(m *testing.M) { RunTests(m, Options{}, &sb) }

// TestReplication proves the sandbox is what doppel needs: ROW binlog on both servers, and a replica
// that applies what the primary writes.
func TestReplication(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dbName := sb.NewDatabase(t)
	p, err := sb.Primary.DB(dbName)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.ExecContext(ctx, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ExecContext(ctx, "INSERT INTO t VALUES (1, 'a'), (2, 'b')"); err != nil {
		t.Fatal(err)
	}
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := sb.Replica.DB(dbName)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var n int
	if err := r.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("replica has %d rows, want 2", n)
	}
	for _, db := range []struct {
		name string
		q    func(string) string
	}{{"primary", func(v string) string { return queryVar(t, p, v) }}, {"replica", func(v string) string { return queryVar(t, r, v) }}} {
		for v, want := range map[string]string{"log_bin": "1", "binlog_format": "ROW", "binlog_row_image": "FULL", "log_slave_updates": "1"} {
			if got := db.q(v); got != want {
				t.Errorf("%s: @@%s = %q, want %q", db.name, v, got, want)
			}
		}
	}
}

// TestRestart proves a server comes back on its port with its data.
func TestRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbName := sb.NewDatabase(t)
	p, err := sb.Primary.DB(dbName)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.ExecContext(ctx, "CREATE TABLE t (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	before := sb.Primary.PID()
	if err := sb.Primary.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if sb.Primary.PID() == before || sb.Primary.PID() == 0 {
		t.Fatalf("pid %d after restart, was %d", sb.Primary.PID(), before)
	}
	if _, err := p.ExecContext(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatalf("primary unusable after restart: %v", err)
	}
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatalf("replica does not follow the restarted primary: %v", err)
	}
}

func queryVar(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRow("SELECT @@" + name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
