// Package migration runs one online schema change from start to end: it validates the request,
// prepares the ghost and changelog tables, copies rows while replaying the binlog, swaps the tables
// and cleans up. It owns every goroutine of the run; the worker packages it drives know nothing of
// each other.
package migration

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/throttle"
	"github.com/doppel-sql/doppel/metrics"
	"github.com/doppel-sql/doppel/table"
)

// Config is everything a migration needs to know. cmd/doppel fills it from flags.
type Config struct {
	// Conn reaches the server doppel inspects and reads the binlog from: a replica, or the primary
	// itself with AllowOnMaster.
	Conn dbconn.Config
	// AssumeMasterHost, "host" or "host:port", overrides the primary found from the replica.
	AssumeMasterHost string
	// AllowOnMaster lets Conn point at the primary.
	AllowOnMaster bool
	// MigrateOnReplica migrates the table of the replica Conn names, on that replica, cut-over
	// included (gh-ost's --migrate-on-replica): the primary is not touched. TestOnReplica does the
	// same but, at the cut-over, stops replication, swaps the tables and swaps them back at once,
	// leaving replication stopped so the original and the migrated table can be compared
	// (--test-on-replica); TestOnReplicaSkipReplicaStop leaves replication running.
	MigrateOnReplica, TestOnReplica, TestOnReplicaSkipReplicaStop bool
	// AllowMasterMaster accepts a primary that is itself a replica: an active-passive pair of
	// primaries replicating from each other. Which of the two takes the writes is then the one
	// found from the replica, --assume-master-host, or with AllowOnMaster the host itself.
	AllowMasterMaster bool

	Database string
	Table    string
	Alter    string
	// Execute runs the migration; without it doppel validates and prints what it would do.
	Execute bool

	ChunkSize    int64 // the largest copy chunk, in rows
	DMLBatchSize int64 // binlog row changes per replay transaction
	// ChunkTarget sizes copy chunks to take about this long (0: always ChunkSize rows).
	ChunkTarget time.Duration
	// CopyWorkers copy chunks in parallel; 0 sizes it to the server.
	CopyWorkers int
	// DeferIndexes says when the ghost is copied without its plain secondary indexes, which are
	// added back in one online ALTER after the copy (far fewer index writes while copying). Each
	// replica replays that ALTER as one statement after the primary, which no throttle can bound:
	// the default defers only when no replica does (defer.go).
	DeferIndexes IndexDeferral

	InitiallyDropGhostTable bool // drop a leftover ghost and changelog table first
	InitiallyDropOldTable   bool // drop a leftover _T_del table first
	OkToDropTable           bool // drop the old table after the swap instead of keeping it
	// TimestampOldTable names the old table _T_<UTC time>_del instead of _T_del, so that the old
	// tables of several migrations of one table can be kept side by side.
	TimestampOldTable bool

	// ExactRowCount counts the table's rows (SELECT COUNT(*) on the inspected server) for the
	// progress and the ETA, instead of the server's estimate, which can be off by half. With
	// ConcurrentRowCount the count runs alongside the copy; without it, before the copy starts.
	ExactRowCount      bool
	ConcurrentRowCount bool

	CutOverLockTimeout time.Duration
	// DefaultRetries bounds retries of failed chunks, replay batches and cut-over attempts.
	DefaultRetries int

	ApproveRenamedColumns bool // copy renamed columns' values to their new names
	// DiscardForeignKeys leaves the table's own foreign keys out of the new table (gh-ost's flag);
	// SkipForeignKeyChecks asserts the table takes part in none, which doppel checks.
	DiscardForeignKeys   bool
	SkipForeignKeyChecks bool
	SkipRenamedColumns   bool // treat renamed columns as dropped and added: values are not copied
	// AllowUniqueKeyChange lets the ALTER add a unique key (or change one so more values collide),
	// after checking that the existing rows hold no duplicates under it.
	AllowUniqueKeyChange bool
	// AllowNullableUniqueKey lets doppel iterate a unique key whose columns allow NULL when no
	// NOT NULL one qualifies (gh-ost's flag), once it has counted no NULL in them; a NULL written to
	// them during the migration stops it.
	AllowNullableUniqueKey bool
	// AllowZeroInDate takes NO_ZERO_DATE and NO_ZERO_IN_DATE out of the server's sql_mode, under
	// which the ghost's DDL runs, so the ALTER may give columns zero-date defaults (gh-ost's flag).
	AllowZeroInDate bool
	// AttemptInstantDDL runs the ALTER natively with ALGORITHM=INSTANT when the server can.
	AttemptInstantDDL bool
	// IncludeTriggers moves the original's triggers to the new table (gh-ost's --include-triggers;
	// without it a table with triggers is refused). Until the names are restored after the swap,
	// they are called TriggerSuffix's name (internal/triggers.TempName) on the ghost.
	IncludeTriggers             bool
	TriggerSuffix               string
	RemoveTriggerSuffixIfExists bool

	// Throttle holds the throttling settings (gh-ost's --max-lag-millis, --max-load, ...). The run
	// fills in its connections, the changelog table and the callbacks.
	Throttle throttle.Config

	// SocketPath (--serve-socket-file) and TCPAddr (--serve-tcp-port on 127.0.0.1) serve the
	// interactive commands; both empty: no control server.
	SocketPath string
	TCPAddr    string

	// PostponeCutOverFlagFile: while this file exists, the cut-over waits (the replay goes on).
	PostponeCutOverFlagFile string
	// PanicFlagFile: when this file appears, the migration stops at once, leaving the original table.
	PanicFlagFile string

	// HooksPath is a directory of gh-ost-compatible hooks; the hints are passed to them.
	HooksPath                                 string
	HooksHint, HooksHintOwner, HooksHintToken string
	// HooksTimeout, when > 0, kills a hook that runs longer (0: no limit, as gh-ost).
	HooksTimeout time.Duration
	// HooksStatusInterval is how often the on-status hook runs (gh-ost's --hooks-status-interval).
	HooksStatusInterval time.Duration

	// ForceNamedCutOver and ForceNamedPanic make the unpostpone and panic commands name the table
	// (gh-ost's --force-named-cut-over, --force-named-panic); InitiallyDropSocketFile takes the
	// socket path over even from a live process (--initially-drop-socket-file).
	ForceNamedCutOver, ForceNamedPanic bool
	InitiallyDropSocketFile            bool

	// MasterUser and MasterPassword, when set, reach the primary instead of Conn's (gh-ost's
	// --master-user, --master-password), when the primary is another server than Conn's.
	MasterUser, MasterPassword string
	// CutOverExponentialBackoff doubles the pause between failed cut-over attempts, up to
	// ExponentialBackoffMaxInterval (gh-ost's flags of those names).
	CutOverExponentialBackoff     bool
	ExponentialBackoffMaxInterval time.Duration
	// AnalyzeGhostTable runs ANALYZE TABLE on the ghost just before the cut-over, and fails the
	// migration when it fails (gh-ost's --analyze-ghost-table-before-cutover): the new table takes
	// the load with fresh index statistics.
	AnalyzeGhostTable bool

	// Metrics, when set, receives the run's figures (cmd/doppel serves them on --metrics-address);
	// Health, when set, answers /healthz there.
	Metrics *metrics.Metrics
	Health  *Health

	// Checkpoint records the progress in the changelog table every CheckpointInterval; a run that
	// fails then keeps its ghost and changelog tables, to be continued with Resume.
	Checkpoint         bool
	CheckpointInterval time.Duration
	// Checksum compares the ghost with the original before the swap, and refuses to swap when they
	// differ.
	Checksum bool
	// PanicOnWarnings stops the migration when copying or replaying leaves a warning.
	PanicOnWarnings bool
	// Resume continues a stopped run from its checkpoint instead of starting over.
	Resume bool
	// GTID positions the binlog stream and the checkpoint by GTID (gh-ost's --gtid), so a resume
	// may read another server of the topology: another replica, or a new primary after a failover.
	GTID bool

	// Revert swaps OldTable, the old table a swap kept, back in for Table, with every change made
	// to Table since the swap replayed into it (gh-ost's --revert --old-table; migration/revert.go).
	Revert   bool
	OldTable string
	// RevertWindow, when > 0, keeps replaying the migrated table's changes into the old table for
	// that long after a successful swap, so the revert command can swap it back at once.
	RevertWindow time.Duration

	// ServerID is the replica server id the binlog stream registers with.
	ServerID uint32
	// StatusInterval is how often progress is logged.
	StatusInterval time.Duration
	// OnProgress, when set, receives a snapshot every second (cmd/doppel draws a progress bar with
	// it, on a terminal); the periodic status line is then not logged.
	OnProgress func(Progress)

	// Failpoint, for tests only, is called at named steps ("cutover:locked", "copy:chunk", ...), so a
	// test can kill doppel exactly there.
	Failpoint func(step string)

	Logger *zap.Logger
	// Out receives the human-readable plan (what the migration will do).
	Out io.Writer
}

// DefaultConfig returns a Config with gh-ost's defaults where gh-ost has the setting.
func DefaultConfig() Config {
	return Config{
		ChunkSize:                     20000,
		ChunkTarget:                   100 * time.Millisecond,
		DMLBatchSize:                  100,
		Checkpoint:                    true,
		Checksum:                      true,
		ConcurrentRowCount:            true,
		CheckpointInterval:            2 * time.Second,
		CutOverLockTimeout:            3 * time.Second,
		DefaultRetries:                60,
		ServerID:                      99999,
		TriggerSuffix:                 "_gho",
		StatusInterval:                30 * time.Second,
		HooksStatusInterval:           60 * time.Second,
		ExponentialBackoffMaxInterval: 64 * time.Second,
		Throttle:                      throttle.DefaultConfig(),
		Out:                           io.Discard,
	}
}

// The values the settings accept, in their flags' units where they have flags. docs/flags.md
// gives the reason for each bound.
const (
	MinChunkSize, MaxChunkSize = 10, 100000 // gh-ost's bounds of --chunk-size
	MaxDMLBatchSize            = 10000
	MaxCopyWorkers             = 64
	// MaxChunkTarget bounds --chunk-target-ms: a chunk holds shared locks on its rows while it
	// runs, and the application's writes to them wait that long.
	MaxChunkTarget = 10 * time.Second
	// MaxCutOverLockTimeout bounds --cut-over-lock-timeout-seconds: the cut-over's RENAME session
	// waits three times it (lock_wait_timeout), and MySQL and MariaDB accept at most 31536000 s
	// there (MariaDB silently truncates more).
	MaxCutOverLockTimeout = 31536000 / cutOverWaitFactor * time.Second
	// MaxDefaultRetries bounds --default-retries: cut-over attempts wait up to 10 s apart, so more
	// is a migration that does not give up for more than a day.
	MaxDefaultRetries = 10000
	// MinStatusInterval and MaxStatusInterval bound --status-interval: progress is sampled once a
	// second.
	MinStatusInterval = time.Second
	MaxStatusInterval = 24 * time.Hour
	// MaxExponentialBackoff bounds --exponential-backoff-max-interval: a pause longer than an hour
	// between cut-over attempts is a stalled migration.
	MaxExponentialBackoff = time.Hour
	// MaxServerID is the largest server id: they are 32-bit unsigned, and 0 is none.
	MaxServerID = math.MaxUint32
	// MaxPort is the largest TCP port.
	MaxPort = 65535
)

// cutOverWaitFactor is how many lock timeouts the cut-over's RENAME waits (package cutover).
const cutOverWaitFactor = 3

// Check reports every bad setting at once, before anything connects, and fills in what is not
// user input (a nil Logger or Out). A bad value is refused with its range, never replaced.
func (c *Config) Check() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Database == "" {
		add("--database is required")
	}
	if c.Table == "" {
		add("--table is required")
	}
	if c.Alter == "" && !c.Revert {
		add("--alter is required")
	}
	if c.Revert != (c.OldTable != "") {
		add("--revert and --old-table go together: --revert --old-table=_T_del swaps that old table back in")
	}
	if c.Revert && (c.Resume || c.TestOnReplica || c.RevertWindow > 0) {
		add("--revert cannot be combined with --resume, --test-on-replica or --revert-window")
	}
	if c.RevertWindow < 0 || (c.RevertWindow > 0 && c.TestOnReplica) {
		add("--revert-window %s: give a positive duration, and not with --test-on-replica (a rehearsal swaps back by itself)", c.RevertWindow)
	}
	if c.Conn.Port < 1 || c.Conn.Port > MaxPort {
		add("--port %d is out of range: use 1 to %d", c.Conn.Port, MaxPort)
	}
	if c.AssumeMasterHost != "" {
		if _, port, err := splitHostPort(c.AssumeMasterHost, c.Conn.Port); err != nil {
			errs = append(errs, err)
		} else if port < 1 || port > MaxPort {
			add("--assume-master-host %q: port %d is out of range: use 1 to %d", c.AssumeMasterHost, port, MaxPort)
		}
	}
	if c.ChunkSize < MinChunkSize || c.ChunkSize > MaxChunkSize {
		add("--chunk-size %d is out of range: use %d to %d", c.ChunkSize, MinChunkSize, MaxChunkSize)
	}
	if c.DMLBatchSize < 1 || c.DMLBatchSize > MaxDMLBatchSize {
		add("--dml-batch-size %d is out of range: use 1 to %d", c.DMLBatchSize, MaxDMLBatchSize)
	}
	if c.ChunkTarget < 0 || c.ChunkTarget > MaxChunkTarget {
		add("--chunk-target-ms %d is out of range: use 0 to %d (0: always --chunk-size rows)", c.ChunkTarget.Milliseconds(), MaxChunkTarget.Milliseconds())
	}
	if c.CopyWorkers < 0 || c.CopyWorkers > MaxCopyWorkers {
		add("--copy-workers %d is out of range: use 0 to %d (0: sized to the server)", c.CopyWorkers, MaxCopyWorkers)
	}
	if c.CutOverLockTimeout < time.Second || c.CutOverLockTimeout > MaxCutOverLockTimeout || c.CutOverLockTimeout%time.Second != 0 {
		add("--cut-over-lock-timeout-seconds %s is out of range: use 1 to %d whole seconds (the cut-over's RENAME waits up to %d times it, and servers accept a lock_wait_timeout of at most 31536000)",
			c.CutOverLockTimeout, MaxCutOverLockTimeout/time.Second, cutOverWaitFactor)
	}
	if c.DefaultRetries < 1 || c.DefaultRetries > MaxDefaultRetries {
		add("--default-retries %d is out of range: use 1 to %d", c.DefaultRetries, MaxDefaultRetries)
	}
	if c.CheckpointInterval <= 0 {
		add("the checkpoint interval %s must be positive", c.CheckpointInterval)
	}
	if c.StatusInterval < MinStatusInterval || c.StatusInterval > MaxStatusInterval {
		add("--status-interval %s is out of range: use %s to %s", c.StatusInterval, MinStatusInterval, MaxStatusInterval)
	}
	if c.ServerID == 0 {
		add("--replica-server-id 0 is out of range: use 1 to %d", uint32(MaxServerID))
	}
	if c.ApproveRenamedColumns && c.SkipRenamedColumns {
		add("--approve-renamed-columns and --skip-renamed-columns contradict each other: give one")
	}
	if c.TestOnReplicaSkipReplicaStop && !c.TestOnReplica {
		add("--test-on-replica-skip-replica-stop needs --test-on-replica")
	}
	if c.TestOnReplica && c.MigrateOnReplica {
		add("--test-on-replica and --migrate-on-replica contradict each other: rehearse (the tables are swapped back), or migrate the replica's table for good")
	}
	if (c.TestOnReplica || c.MigrateOnReplica) && (c.AllowOnMaster || c.AssumeMasterHost != "") {
		add("--test-on-replica and --migrate-on-replica work on the replica --host names alone: leave out --allow-on-master and --assume-master-host")
	}
	if c.Resume && !c.Checkpoint {
		add("--resume needs --checkpoint: the progress to resume from is the checkpoint")
	}
	if c.ExponentialBackoffMaxInterval < time.Second || c.ExponentialBackoffMaxInterval > MaxExponentialBackoff {
		add("--exponential-backoff-max-interval %s is out of range: use 1 to %d seconds", c.ExponentialBackoffMaxInterval, MaxExponentialBackoff/time.Second)
	}
	if c.HooksStatusInterval < time.Second || c.HooksStatusInterval > MaxStatusInterval {
		add("--hooks-status-interval %s is out of range: use 1 to %d seconds", c.HooksStatusInterval, MaxStatusInterval/time.Second)
	}
	if c.HooksTimeout < 0 {
		add("--hooks-timeout %s is negative: use 0 (no limit) or a duration such as 10m", c.HooksTimeout)
	}
	if c.IncludeTriggers && c.TriggerSuffix == "" {
		add("--trigger-suffix is empty: the triggers need other names on the ghost table until the swap (the default is _gho)")
	}
	if len([]rune(c.TriggerSuffix)) > 32 {
		add("--trigger-suffix %q is too long: use at most 32 characters (trigger names hold 64)", c.TriggerSuffix)
	}
	if c.RemoveTriggerSuffixIfExists && !c.IncludeTriggers {
		add("--remove-trigger-suffix-if-exists needs --include-triggers")
	}
	if err := c.Throttle.Check(); err != nil {
		errs = append(errs, err)
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	return errors.Join(errs...)
}

// names are the tables a migration of Table creates, named like gh-ost's.
type names struct {
	ghost, old, changelog string
}

func namesFor(t string) names {
	return names{ghost: table.GhostName(t), old: table.OldName(t), changelog: table.ChangelogName(t)}
}

// timestampedOld is the old table's name with --timestamp-old-table, as gh-ost names it.
func timestampedOld(t string, now time.Time) string { return table.TimestampedOldName(t, now) }
