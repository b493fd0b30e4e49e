package workflow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/dbconn"
)

// Online runs one ALTER TABLE through doppel's online engine (copy, binlog replay, cut-over), with
// the run's throttles, socket, hooks, metrics and checkpoint. cmd/doppel implements it with package
// migration, which only the command may import.
type Online interface {
	// Check refuses, in the engine's words, an ALTER it would refuse, before anything runs.
	Check(ctx context.Context, table, alter string) error
	// Alter runs the change. resume continues a stopped run of the same change from its checkpoint
	// (its ghost and changelog tables are there).
	Alter(ctx context.Context, table, alter string, resume bool) error
	// AlterGroup runs the changes of several tables together: copied side by side and swapped in
	// one RENAME, all of them or none (a script's consecutive online ALTERs of different tables).
	AlterGroup(ctx context.Context, changes []OnlineChange) error
}

// OnlineChange is one table's change in an Online.AlterGroup. Resume continues a stopped run of it.
type OnlineChange struct {
	Table, Alter string
	Resume       bool
}

// Backfiller runs a data statement (UPDATE, INSERT … SELECT) in throttled, checkpointed chunks.
// db's default database is the migrations' database. run names the run of the script the statement
// belongs to (its history row): a stopped backfill of the same run continues from its checkpoint,
// while another run of the script (after a down) starts afresh.
type Backfiller interface {
	Backfill(ctx context.Context, db *sql.DB, stmt, run string) error
}

// DefaultOnlineThreshold is the size (data and indexes) from which an ALTER TABLE that the server
// cannot run instantly goes through the online engine. The server's own copy (make bench,
// docs/benchmarks.md) moved 2,000,000 sysbench rows in 12.3–13.4 s, about 150,000 rows/s, or some
// 35 MiB/s at ~250 bytes a row with its index: below 32 MiB a native ALTER blocks writes for about a
// second at most, less than the online engine's own set-up and cut-over cost.
const DefaultOnlineThreshold = 32 << 20

// Config is one run of the workflow over a directory.
type Config struct {
	// DB is a pool on the primary with doppel's session (dbconn.Open), whose default database is
	// Database: the statements of the files run in it.
	DB       *sql.DB
	Database string
	Dir      string
	// HistoryTable is the history table, in Database, or "db.table"; empty: DefaultHistoryTable.
	HistoryTable string
	// Execute changes the database; without it up, down and repair print what they would do.
	Execute bool
	// Online runs big ALTERs; nil: an ALTER that needs it is refused.
	Online Online
	// Backfiller runs statements after a BackfillDirective; nil: they run natively, in one statement.
	Backfiller Backfiller
	// OnlineThreshold: ALTERs of tables at least this large (bytes) run online; 0: DefaultOnlineThreshold.
	OnlineThreshold int64
	// LockWaitTimeout bounds how long a native statement waits for a metadata lock (lock_wait_timeout)
	// before it is retried, up to Retries times: a DDL queued behind a long transaction blocks every
	// query of the table behind it. 0: 5 s and 20 retries.
	LockWaitTimeout time.Duration
	Retries         int
	// DeployLockWait bounds how long a second deployer waits for the first; 0: 10 minutes.
	DeployLockWait time.Duration
	// AllowDataLoss accepts up scripts that lose data (DROP TABLE, DROP COLUMN, narrowed types). A
	// down script is a deliberate revert: it may always lose what its up added.
	AllowDataLoss bool
	// Out receives the reports and what a run does; Logger the details.
	Out    io.Writer
	Logger *zap.Logger
}

func (c *Config) check() error {
	var errs []error
	if c.DB == nil {
		errs = append(errs, errors.New("workflow: no database connection"))
	}
	if c.Database == "" {
		errs = append(errs, errors.New("--database is required: the schema the migrations run in"))
	}
	if c.Dir == "" {
		errs = append(errs, errors.New("--dir is required: the directory of migration files"))
	}
	if c.OnlineThreshold < 0 {
		errs = append(errs, fmt.Errorf("--online-threshold %d is negative", c.OnlineThreshold))
	}
	if c.HistoryTable == "" {
		c.HistoryTable = DefaultHistoryTable
	}
	if c.OnlineThreshold == 0 {
		c.OnlineThreshold = DefaultOnlineThreshold
	}
	if c.LockWaitTimeout <= 0 {
		c.LockWaitTimeout = 5 * time.Second
	}
	if c.Retries <= 0 {
		c.Retries = 20
	}
	if c.DeployLockWait <= 0 {
		c.DeployLockWait = 10 * time.Minute
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return errors.Join(errs...)
}

// Workflow is the migrations of a directory against one schema.
type Workflow struct {
	cfg        Config
	migrations []Migration
	hist       *history
	flavor     dbconn.Flavor
	srv        *alter.Server
}

// Open reads the directory and the server; it changes nothing.
func Open(ctx context.Context, cfg Config) (*Workflow, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	ms, err := ReadDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	w := &Workflow{cfg: cfg, migrations: ms, hist: &history{db: cfg.DB, name: historyName(cfg.Database, cfg.HistoryTable)}}
	if w.flavor, err = dbconn.DetectFlavor(ctx, cfg.DB); err != nil {
		return nil, err
	}
	if w.srv, err = alter.ReadServer(ctx, cfg.DB); err != nil {
		return nil, err
	}
	return w, nil
}

// Migrations are the directory's migrations, ordered by version.
func (w *Workflow) Migrations() []Migration { return w.migrations }

func (w *Workflow) say(format string, args ...any) { fmt.Fprintf(w.cfg.Out, format+"\n", args...) }
