package workflow

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/backfill"
	"github.com/doppel-sql/doppel/internal/sandbox"
	"github.com/doppel-sql/doppel/migration"
)

var sb *sandbox.Sandbox

// The tests run the online steps on the primary itself (--allow-on-master), as doppel migrate does.
func TestMain(m *testing.M) { sandbox.RunTests(m, sandbox.Options{NoReplica: true}, &sb) }

// engine is the online engine as cmd/doppel builds it: package migration, one run per ALTER. It
// records the calls, and slows the copy so that a test can interrupt it.
type engine struct {
	database  string
	chunkSize int64
	mu        sync.Mutex
	calls     []string // "table resume=<bool>"
}

func (e *engine) config(table, alter string) migration.Config {
	c := migration.DefaultConfig()
	c.Conn = sb.Primary.Config()
	c.AllowOnMaster, c.Execute = true, true
	c.Database, c.Table, c.Alter = e.database, table, alter
	c.SocketPath = filepath.Join(os.TempDir(), "doppel-wf-"+e.database+"-"+table+".sock")
	c.Throttle.AdditionalFlagFile = "" // gh-ost's host-wide pause file must not pause the tests
	c.CutOverLockTimeout, c.DefaultRetries = 2*time.Second, 5
	c.OkToDropTable = true // 0004's down changes big online again
	if e.chunkSize > 0 {
		c.ChunkSize, c.ChunkTarget = e.chunkSize, 0
	}
	return c
}

func (e *engine) Check(ctx context.Context, table, alter string) error {
	db, err := sb.Primary.DB("")
	if err != nil {
		return err
	}
	defer db.Close()
	return migration.CheckRequest(ctx, e.config(table, alter), db)
}

func (e *engine) Alter(ctx context.Context, table, alter string, resume bool) error {
	e.mu.Lock()
	e.calls = append(e.calls, table+" resume="+map[bool]string{true: "true", false: "false"}[resume])
	e.mu.Unlock()
	c := e.config(table, alter)
	c.Resume = resume
	_, err := migration.Run(ctx, c)
	return err
}

func (e *engine) AlterGroup(ctx context.Context, changes []OnlineChange) error {
	cfgs := make([]migration.Config, len(changes))
	var names []string
	for i, ch := range changes {
		cfgs[i] = e.config(ch.Table, ch.Alter)
		cfgs[i].Resume = ch.Resume
		names = append(names, ch.Table)
	}
	e.mu.Lock()
	e.calls = append(e.calls, "group "+strings.Join(names, ","))
	e.mu.Unlock()
	_, err := migration.RunGroup(ctx, cfgs)
	return err
}

// chunkedBackfill is the backfill engine as cmd/doppel builds it: package backfill, in chunks,
// continuing its run's checkpoint. It records the statements, so a test can see the directive
// routed them here.
type chunkedBackfill struct {
	database string
	mu       sync.Mutex
	stmts    []string
}

func (b *chunkedBackfill) Backfill(ctx context.Context, _ *sql.DB, stmt, run string) error {
	b.mu.Lock()
	b.stmts = append(b.stmts, stmt)
	b.mu.Unlock()
	c := backfill.DefaultConfig()
	c.Conn, c.Database, c.SQL = sb.Primary.Config(), b.database, stmt
	c.Execute, c.Continue, c.CheckpointKey, c.NoSocket = true, true, run, true
	c.Throttle.AdditionalFlagFile = "" // gh-ost's host-wide pause file must not pause the tests
	_, err := backfill.Run(ctx, c)
	return err
}

// writeDir writes migration files into a new directory.
func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// syncBuffer is an io.Writer tests read while a run writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// open is a Workflow over dir in database, with a pool of its own.
func open(ctx context.Context, t *testing.T, database, dir string, change func(*Config)) (*Workflow, *syncBuffer) {
	t.Helper()
	db, err := sb.Primary.DB(database)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	out := &syncBuffer{}
	cfg := Config{DB: db, Database: database, Dir: dir, Execute: true, Out: out, Logger: zap.NewNop(), LockWaitTimeout: time.Second, Retries: 3}
	if change != nil {
		change(&cfg)
	}
	w, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w, out
}
