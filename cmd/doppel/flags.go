package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/doppel-sql/doppel/control"
	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/throttle"
	"github.com/doppel-sql/doppel/migration"
)

// options are the command line of a migration. Names follow gh-ost's wherever gh-ost has the flag,
// so runbooks keep working; Go's flag package accepts both --flag=value and -flag value.
type options struct {
	conf string
	// tables and alters are every --table and --alter given, in order: pairs, for a group.
	tables, alters       []string
	askPass              bool
	mysqlTimeout         float64
	host                 string
	port                 int
	user                 string
	password             string
	ssl                  bool
	sslCA, sslCert       string
	sslKey               string
	sslAllowInsecure     bool
	database, table      string
	alter                string
	execute              bool
	allowOnMaster        bool
	allowMasterMaster    bool
	migrateOnReplica     bool
	testOnReplica        bool
	testOnReplicaNoStop  bool
	assumeMasterHost     string
	chunkSize            int64
	dmlBatchSize         int64
	dropGhost, dropOld   bool
	okToDrop             bool
	revert               bool
	oldTable             string
	revertWindow         time.Duration
	timestampOld         bool
	exactRowCount        bool
	concurrentRowCount   bool
	assumeRBR, switchRBR bool
	cutOver              string
	cutOverLockTimeout   int
	defaultRetries       int
	approveRenamed       bool
	skipRenamed          bool
	discardFKs, skipFKs  bool
	allowUniqueKeyChange bool
	allowNullableKey     bool
	allowZeroInDate      bool
	attemptInstantDDL    bool
	includeTriggers      bool
	triggerSuffix        string
	removeTriggerSuffix  bool
	chunkTargetMillis    int
	copyWorkers          int
	deferIndexes         migration.IndexDeferral
	commitLatencyMs      int
	checkpoint, resume   bool
	gtid                 bool
	checksum             bool
	panicOnWarnings      bool

	maxLagMillis, heartbeatMillis        int
	throttleControlReplicas              string
	maxLoad, criticalLoad                string
	criticalLoadIntervalMillis           int
	criticalLoadHibernateSeconds         int
	throttleQuery, throttleHTTP          string
	throttleHTTPIntervalMillis           int
	throttleHTTPTimeoutMillis            int
	throttleFlagFile, throttleAdditional string
	niceRatio                            float64
	socketFile                           string
	tcpPort                              int
	hooksPath, hooksHint                 string
	hooksHintOwner, hooksHintToken       string
	postponeFlagFile, panicFlagFile      string
	metricsAddress                       string
	serverID                             uint64
	statusInterval                       time.Duration
	logFormat                            string
	verbose, debug                       bool
	version, help                        bool

	// gh-ost's flags of these names.
	checkFlag, quiet                   bool
	checkpointSeconds                  int
	cutOverBackoff                     bool
	backoffMaxSeconds                  int
	forceNamedCutOver, forceNamedPanic bool
	hooksStatusSeconds                 int
	hooksTimeout                       time.Duration
	ignoreHTTPErrors, dropSocket       bool
	masterUser, masterPassword         string
	storageEngine                      string
	analyzeGhost                       bool
	ghost                              map[string]*ghostValue

	// notes are what config has to say about the flags, for the log.
	notes []string
}

func newFlagSet(out io.Writer) (*flag.FlagSet, *options) {
	o := &options{}
	d := migration.DefaultConfig()
	fs := flag.NewFlagSet("doppel", flag.ContinueOnError)
	fs.SetOutput(out)
	addConnFlags(fs, o)
	fs.StringVar(&o.database, "database", "", "database of the table (required)")
	fs.Var(&repeated{first: &o.table, all: &o.tables}, "table", "`table` to migrate (required); repeated --table/--alter pairs migrate several tables of --database together, swapped in one RENAME")
	fs.Var(&repeated{first: &o.alter, all: &o.alters}, "alter", "the `change`, as in ALTER TABLE, e.g. \"ADD COLUMN x INT NULL, ADD INDEX (x)\" (required); the n-th --alter is for the n-th --table")
	fs.BoolVar(&o.execute, "execute", false, "migrate; without it doppel only validates and prints what it would do")
	fs.BoolVar(&o.allowOnMaster, "allow-on-master", false, "--host is the primary: inspect and read the binlog there")
	fs.BoolVar(&o.allowMasterMaster, "allow-master-master", false, "the primary replicates from another primary (an active-passive pair): accept it")
	fs.BoolVar(&o.migrateOnReplica, "migrate-on-replica", false, "migrate the table of the replica --host names, on that replica, cut-over included; the primary is not touched")
	fs.BoolVar(&o.testOnReplica, "test-on-replica", false, "rehearse on the replica --host names: migrate its table, then at the cut-over stop replication, swap, swap back, and leave replication stopped to compare the two tables")
	fs.BoolVar(&o.testOnReplicaNoStop, "test-on-replica-skip-replica-stop", false, "with --test-on-replica, do not stop replication for the swap")
	fs.StringVar(&o.assumeMasterHost, "assume-master-host", "", "the primary as host[:port], instead of what the replica reports")
	fs.BoolVar(&o.attemptInstantDDL, "attempt-instant-ddl", false, "when the server can run the ALTER with ALGORITHM=INSTANT, run it natively and finish in seconds")
	fs.BoolVar(&o.includeTriggers, "include-triggers", false, "move the table's triggers to the new table: they keep firing on the original until the swap, and on the new table, under their own names, after it")
	fs.StringVar(&o.triggerSuffix, "trigger-suffix", d.TriggerSuffix, "with --include-triggers, the suffix of the triggers' names on the ghost table, from the cut-over until their names are restored after the swap")
	fs.BoolVar(&o.removeTriggerSuffix, "remove-trigger-suffix-if-exists", false, "with --include-triggers, a trigger whose name ends with --trigger-suffix is called without it on the ghost table (the names are restored after the swap either way)")
	fs.Int64Var(&o.chunkSize, "chunk-size", d.ChunkSize, "the largest copy chunk, in rows (10-100000); chunks are sized to --chunk-target-ms up to it")
	fs.IntVar(&o.chunkTargetMillis, "chunk-target-ms", int(d.ChunkTarget/time.Millisecond), "size copy chunks to take about this long (0-10000; 0: always --chunk-size rows)")
	fs.IntVar(&o.copyWorkers, "copy-workers", 0, "chunks copied in parallel (0-64; 0: sized to the server)")
	o.deferIndexes = d.DeferIndexes
	fs.Var(deferFlag{&o.deferIndexes}, "defer-secondary-indexes", "copy without the plain secondary indexes and build them once after the copy, though replicas then lag by the build (=false: keep them during the copy; unset: defer only when no replica replays the build)")
	fs.Int64Var(&o.dmlBatchSize, "dml-batch-size", d.DMLBatchSize, "binlog row changes replayed per transaction (1-10000)")
	fs.BoolVar(&o.dropGhost, "initially-drop-ghost-table", false, "drop a ghost (_T_gho) and changelog (_T_ghc) table left by an earlier run")
	fs.BoolVar(&o.dropOld, "initially-drop-old-table", false, "drop an old table (_T_del) left by an earlier run")
	fs.BoolVar(&o.okToDrop, "ok-to-drop-table", false, "drop the original table after the swap instead of keeping it as _T_del")
	fs.BoolVar(&o.revert, "revert", false, "swap the old table --old-table back in, with every change made since the swap replayed into it (docs/revert.md)")
	fs.StringVar(&o.oldTable, "old-table", "", "with --revert, the old table a migration kept, e.g. _T_del")
	fs.DurationVar(&o.revertWindow, "revert-window", 0, "after the swap, keep replaying the new table's changes into the old one this long (e.g. 30m), so the revert command swaps back at once (0: no window)")
	fs.BoolVar(&o.timestampOld, "timestamp-old-table", false, "keep the original as _T_<UTC time>_del instead of _T_del, so old tables of several migrations can be kept")
	fs.BoolVar(&o.exactRowCount, "exact-rowcount", false, "count the rows (SELECT COUNT(*) on --host) for an accurate progress and ETA instead of the server's estimate")
	fs.BoolVar(&o.concurrentRowCount, "concurrent-rowcount", d.ConcurrentRowCount, "with --exact-rowcount, count while the copy runs (=false: count before it starts)")
	fs.StringVar(&o.cutOver, "cut-over", "atomic", "the cut-over algorithm; doppel's is always atomic (gh-ost's two-step is not offered: it leaves a moment with no table)")
	fs.BoolVar(&o.assumeRBR, "assume-rbr", false, "accepted for gh-ost runbooks; doppel never changes binlog_format, it checks it is ROW")
	fs.BoolVar(&o.switchRBR, "switch-to-rbr", false, "accepted for gh-ost runbooks; doppel never changes binlog_format: set it to ROW yourself, doppel checks and says so")
	fs.IntVar(&o.cutOverLockTimeout, "cut-over-lock-timeout-seconds", int(d.CutOverLockTimeout/time.Second), "longest the table may stay locked in one cut-over attempt (1-10512000)")
	fs.IntVar(&o.defaultRetries, "default-retries", d.DefaultRetries, "attempts for a failing chunk, replay batch or cut-over (1-10000)")
	fs.BoolVar(&o.approveRenamed, "approve-renamed-columns", false, "the ALTER renames columns: carry their values over")
	fs.BoolVar(&o.skipRenamed, "skip-renamed-columns", false, "the ALTER renames columns: do not carry their values over")
	fs.BoolVar(&o.discardFKs, "discard-foreign-keys", false, "the new table gets none of the table's own foreign keys (they are dropped with the migration)")
	fs.BoolVar(&o.skipFKs, "skip-foreign-key-checks", false, "assert the table takes part in no foreign key (doppel still checks, and refuses if it does)")
	fs.BoolVar(&o.checkpoint, "checkpoint", d.Checkpoint, "record the progress in the changelog table; a failed run then keeps its tables for --resume (=false: drop them)")
	fs.BoolVar(&o.resume, "resume", false, "continue a stopped run of the same migration from its checkpoint")
	fs.BoolVar(&o.gtid, "gtid", false, "position the binlog stream and the checkpoint by GTID, so that --resume may read another server (another replica, a new primary)")
	fs.BoolVar(&o.checksum, "checksum", d.Checksum, "compare the ghost with the original before the swap and refuse to swap when they differ (=false skips it)")
	fs.BoolVar(&o.panicOnWarnings, "panic-on-warnings", false, "stop when copying or replaying makes the server warn (a value truncated or rounded)")
	fs.BoolVar(&o.allowNullableKey, "allow-nullable-unique-key", false, "iterate a unique key whose columns allow NULL, after checking they hold none")
	fs.BoolVar(&o.allowUniqueKeyChange, "allow-unique-key-change", false, "let the ALTER add a unique key, after checking the rows hold no duplicates")
	fs.BoolVar(&o.allowZeroInDate, "allow-zero-in-date", false, "run the ghost's DDL without NO_ZERO_DATE and NO_ZERO_IN_DATE in the server's sql_mode, so the ALTER may set zero-date defaults")
	th := d.Throttle
	fs.IntVar(&o.maxLagMillis, "max-lag-millis", int(th.MaxLag/time.Millisecond), "replica lag above which doppel throttles (and the cut-over waits) (100-31536000000)")
	fs.IntVar(&o.heartbeatMillis, "heartbeat-interval-millis", int(th.HeartbeatInterval/time.Millisecond), "how often doppel writes and reads its heartbeat (10-1000)")
	fs.StringVar(&o.throttleControlReplicas, "throttle-control-replicas", "", "more replicas whose lag throttles: host[:port],host[:port]")
	fs.StringVar(&o.maxLoad, "max-load", "", "throttle while a status variable on the primary is above its limit, e.g. Threads_running=25,Threads_connected=500")
	fs.StringVar(&o.criticalLoad, "critical-load", "", "stop (or hibernate) when a status variable on the primary reaches its limit, e.g. Threads_running=100")
	fs.IntVar(&o.criticalLoadIntervalMillis, "critical-load-interval-millis", 0, "when > 0, check critical load again after this long before acting on it (0-3600000)")
	fs.IntVar(&o.criticalLoadHibernateSeconds, "critical-load-hibernate-seconds", 0, "when > 0, critical load pauses everything for this long instead of stopping (0-86400)")
	fs.StringVar(&o.throttleQuery, "throttle-query", "", "one SELECT run every second on the primary, in a read-only transaction; a result > 0 throttles")
	fs.StringVar(&o.throttleHTTP, "throttle-http", "", "URL checked with HEAD; any answer but 200 throttles")
	fs.IntVar(&o.throttleHTTPIntervalMillis, "throttle-http-interval-millis", int(th.HTTPInterval/time.Millisecond), "how often --throttle-http is checked (10-3600000)")
	fs.IntVar(&o.throttleHTTPTimeoutMillis, "throttle-http-timeout-millis", int(th.HTTPTimeout/time.Millisecond), "how long --throttle-http may take to answer (1-60000)")
	fs.StringVar(&o.throttleFlagFile, "throttle-flag-file", "", "throttle while this file exists")
	fs.StringVar(&o.throttleAdditional, "throttle-additional-flag-file", th.AdditionalFlagFile, "throttle while this file exists too (shared with gh-ost: touch it to pause every migration on the host)")
	fs.IntVar(&o.commitLatencyMs, "max-commit-latency", 0, "when > 0, pace the copy so that a commit on the primary (doppel's heartbeat, p90 of the last second) stays under this many milliseconds (0-60000)")
	fs.Float64Var(&o.niceRatio, "nice-ratio", 0, "rest after each chunk, as a multiple of its time (0-100): 0 none, 1 doubles the copy time")
	fs.StringVar(&o.socketFile, "serve-socket-file", "", "Unix socket for interactive commands (default /tmp/doppel-<uid>/doppel.<database>.<table>.sock, in a directory only you can write)")
	fs.IntVar(&o.tcpPort, "serve-tcp-port", 0, "also serve interactive commands on this port of 127.0.0.1 (1-65535; 0: no)")
	fs.StringVar(&o.postponeFlagFile, "postpone-cut-over-flag-file", "", "while this file exists, the cut-over waits (the replay goes on)")
	fs.StringVar(&o.panicFlagFile, "panic-flag-file", "", "when this file appears, stop at once; the original table is left as it is")
	fs.StringVar(&o.hooksPath, "hooks-path", "", "directory of gh-ost-compatible hooks (gh-ost-on-*, doppel-on-*)")
	fs.StringVar(&o.hooksHint, "hooks-hint", "", "passed to hooks as GH_OST_HOOKS_HINT")
	fs.StringVar(&o.hooksHintOwner, "hooks-hint-owner", "", "passed to hooks as GH_OST_HOOKS_HINT_OWNER")
	fs.StringVar(&o.hooksHintToken, "hooks-hint-token", "", "passed to hooks as GH_OST_HOOKS_HINT_TOKEN")
	fs.StringVar(&o.metricsAddress, "metrics-address", "", "serve Prometheus /metrics and /healthz on HOST:PORT for the whole run")
	fs.Uint64Var(&o.serverID, "replica-server-id", uint64(d.ServerID), "server id the binlog stream registers with (1-4294967295); unique in the topology")
	fs.DurationVar(&o.statusInterval, "status-interval", d.StatusInterval, "how often progress is logged (1s-24h)")
	fs.StringVar(&o.logFormat, "log-format", "console", "console or json")
	fs.BoolVar(&o.verbose, "verbose", false, "log progress and steps (the default; kept for gh-ost users)")
	fs.BoolVar(&o.debug, "debug", false, "log debug detail")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.BoolVar(&o.help, "help", false, "show this help")
	fs.BoolVar(&o.checkFlag, "check-flag", false, "only check that every other flag given exists (exit 0) and stop, as gh-ost's: for scripts that run several versions")
	fs.BoolVar(&o.quiet, "quiet", false, "log warnings and errors only")
	fs.IntVar(&o.checkpointSeconds, "checkpoint-seconds", int(d.CheckpointInterval/time.Second), "how often the checkpoint is recorded, in seconds (1-3600)")
	fs.BoolVar(&o.cutOverBackoff, "cut-over-exponential-backoff", false, "wait 1, 2, 4, … seconds between failed cut-over attempts, up to --exponential-backoff-max-interval (default: 1, 2, … 10 seconds)")
	fs.IntVar(&o.backoffMaxSeconds, "exponential-backoff-max-interval", int(d.ExponentialBackoffMaxInterval/time.Second), "the longest wait between cut-over attempts with --cut-over-exponential-backoff, in seconds (1-3600)")
	fs.BoolVar(&o.forceNamedCutOver, "force-named-cut-over", false, "the unpostpone (cut-over) command must name the table: unpostpone=<table>")
	fs.BoolVar(&o.forceNamedPanic, "force-named-panic", false, "the panic command must name the table: panic=<table>")
	fs.IntVar(&o.hooksStatusSeconds, "hooks-status-interval", int(d.HooksStatusInterval/time.Second), "how often the on-status hook runs, in seconds (1-86400)")
	fs.DurationVar(&o.hooksTimeout, "hooks-timeout", 0, "kill a hook that runs longer than this, e.g. 10m (0: no limit, as gh-ost)")
	fs.BoolVar(&o.ignoreHTTPErrors, "ignore-http-errors", false, "a --throttle-http endpoint that cannot be reached does not throttle (an answer other than 200 still does)")
	fs.BoolVar(&o.dropSocket, "initially-drop-socket-file", false, "take --serve-socket-file over even when another process serves on it (that process can no longer be reached there)")
	fs.StringVar(&o.masterUser, "master-user", "", "user on the primary, when it differs from --user (the primary being another server than --host)")
	fs.StringVar(&o.masterPassword, "master-password", "", "password on the primary, when it differs from --password")
	fs.StringVar(&o.storageEngine, "storage-engine", "innodb", "the table's storage engine: doppel migrates InnoDB tables only")
	fs.BoolVar(&o.analyzeGhost, "analyze-ghost-table-before-cutover", false, "run ANALYZE TABLE on the ghost just before the cut-over, so the new table serves with fresh index statistics; its failure stops the migration")
	o.ghost = addGhostFlags(fs)
	fs.Usage = func() { writeHelp(out, fs) }
	return fs, o
}

// addConnFlags defines the flags that say how to reach the server, shared by every subcommand.
func addConnFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.conf, "conf", "", "my.cnf-style file: [client] gives user, password, host and port; [osc] chunk_size, max_load and max_lag_millis; a value ${VAR} is read from the environment")
	fs.BoolVar(&o.askPass, "ask-pass", false, "ask for the password on the terminal, without echo")
	fs.Float64Var(&o.mysqlTimeout, "mysql-timeout", 0, "seconds to wait for a connection to a server to open (0: the driver's default); queries are never cut short")
	fs.StringVar(&o.host, "host", "127.0.0.1", "server to inspect and read the binlog from: a replica, or the primary with --allow-on-master")
	fs.IntVar(&o.port, "port", 3306, "port of --host (1-65535)")
	fs.StringVar(&o.user, "user", "", "user name (needs REPLICATION SLAVE and REPLICATION CLIENT, and ALTER, CREATE, DROP, INSERT, UPDATE, DELETE, SELECT, LOCK TABLES on the database)")
	fs.StringVar(&o.password, "password", "", "password; prefer --conf or the MYSQL_PWD environment variable, which stay out of the process list")
	fs.BoolVar(&o.ssl, "ssl", false, "connect with TLS")
	fs.StringVar(&o.sslCA, "ssl-ca", "", "PEM file of the CA that signed the server's certificate")
	fs.StringVar(&o.sslCert, "ssl-cert", "", "PEM client certificate")
	fs.StringVar(&o.sslKey, "ssl-key", "", "PEM client key")
	fs.BoolVar(&o.sslAllowInsecure, "ssl-allow-insecure", false, "do not verify the server's certificate")
}

// config turns parsed options into a migration.Config. Every problem with the flags is reported
// at once. Numeric flags are range-checked here, in their own unit and before they are converted,
// so that 2^32 + 1 cannot wrap to a server id of 1 nor a huge timeout overflow; a value out of range
// makes the command line wrong (exit code 2), and the rest of the Config is checked with it
// (migration.Config.Check) so that all mistakes come in one go.
func (o *options) config(fs *flag.FlagSet) (migration.Config, error) {
	conn, err := o.connConfig(fs)
	if err != nil {
		return migration.Config{}, err
	}
	c := migration.DefaultConfig()
	var rc rangeCheck
	ms := func(name string, n int, lo, hi, def time.Duration, note string) time.Duration {
		return rc.duration(name, int64(n), time.Millisecond, lo, hi, def, note)
	}
	c.Conn = conn
	c.Conn.Port = int(rc.whole("port", int64(conn.Port), 1, migration.MaxPort, 3306, ""))
	c.AssumeMasterHost = o.assumeMasterHost
	c.AllowOnMaster, c.AllowMasterMaster = o.allowOnMaster, o.allowMasterMaster
	c.MigrateOnReplica, c.TestOnReplica, c.TestOnReplicaSkipReplicaStop = o.migrateOnReplica, o.testOnReplica, o.testOnReplicaNoStop
	c.Database, c.Table, c.Alter = o.database, o.table, o.alter
	c.Execute = o.execute
	c.ChunkSize = rc.whole("chunk-size", o.chunkSize, migration.MinChunkSize, migration.MaxChunkSize, c.ChunkSize, "")
	c.DMLBatchSize = rc.whole("dml-batch-size", o.dmlBatchSize, 1, migration.MaxDMLBatchSize, c.DMLBatchSize, "")
	c.ChunkTarget = ms("chunk-target-ms", o.chunkTargetMillis, 0, migration.MaxChunkTarget, c.ChunkTarget, "0: always --chunk-size rows")
	c.CopyWorkers = int(rc.whole("copy-workers", int64(o.copyWorkers), 0, migration.MaxCopyWorkers, 0, "0: sized to the server"))
	c.DeferIndexes = o.deferIndexes
	c.Checkpoint, c.Resume, c.PanicOnWarnings = o.checkpoint, o.resume, o.panicOnWarnings
	c.GTID = o.gtid
	c.Checksum = o.checksum
	c.InitiallyDropGhostTable, c.InitiallyDropOldTable, c.OkToDropTable = o.dropGhost, o.dropOld, o.okToDrop
	c.TimestampOldTable = o.timestampOld
	c.Revert, c.OldTable, c.RevertWindow = o.revert, o.oldTable, o.revertWindow
	c.ExactRowCount, c.ConcurrentRowCount = o.exactRowCount, o.concurrentRowCount
	switch o.cutOver {
	case "atomic", "default":
	default:
		rc.errs = append(rc.errs, fmt.Errorf("--cut-over=%s: doppel's cut-over is always the atomic one (a blocked RENAME of both tables at once); "+
			"gh-ost's two-step cut-over leaves a moment when the table does not exist, and doppel does not offer it. Leave --cut-over out", o.cutOver))
	}
	c.CutOverLockTimeout = rc.duration("cut-over-lock-timeout-seconds", int64(o.cutOverLockTimeout), time.Second, time.Second, migration.MaxCutOverLockTimeout, c.CutOverLockTimeout,
		"the cut-over's RENAME waits up to three times it, and servers accept a lock_wait_timeout of at most 31536000")
	c.DefaultRetries = int(rc.whole("default-retries", int64(o.defaultRetries), 1, migration.MaxDefaultRetries, int64(c.DefaultRetries), ""))
	c.ApproveRenamedColumns, c.SkipRenamedColumns = o.approveRenamed, o.skipRenamed
	c.DiscardForeignKeys, c.SkipForeignKeyChecks = o.discardFKs, o.skipFKs
	c.AllowUniqueKeyChange = o.allowUniqueKeyChange
	c.AllowNullableUniqueKey = o.allowNullableKey
	c.AllowZeroInDate = o.allowZeroInDate
	c.AttemptInstantDDL = o.attemptInstantDDL
	c.IncludeTriggers, c.TriggerSuffix, c.RemoveTriggerSuffixIfExists = o.includeTriggers, o.triggerSuffix, o.removeTriggerSuffix
	if o.serverID < 1 || o.serverID > migration.MaxServerID {
		rc.errs = append(rc.errs, fmt.Errorf("--replica-server-id %d is out of range: use 1 to %d (server ids are 32-bit), and one no other server or replica uses", o.serverID, uint64(migration.MaxServerID)))
	} else {
		c.ServerID = uint32(o.serverID)
	}
	if o.statusInterval < migration.MinStatusInterval || o.statusInterval > migration.MaxStatusInterval {
		rc.errs = append(rc.errs, fmt.Errorf("--status-interval %s is out of range: use %s to %s", o.statusInterval, migration.MinStatusInterval, migration.MaxStatusInterval))
	} else {
		c.StatusInterval = o.statusInterval
	}
	th := &c.Throttle
	th.MaxLag = ms("max-lag-millis", o.maxLagMillis, throttle.MinMaxLag, throttle.MaxMaxLag, th.MaxLag, "")
	th.HeartbeatInterval = ms("heartbeat-interval-millis", o.heartbeatMillis, throttle.MinHeartbeatInterval, throttle.MaxHeartbeatInterval, th.HeartbeatInterval, "")
	th.ControlReplicas = o.throttleControlReplicas
	th.MaxLoad, th.CriticalLoad = o.maxLoad, o.criticalLoad
	th.CriticalLoadInterval = ms("critical-load-interval-millis", o.criticalLoadIntervalMillis, 0, throttle.MaxCriticalLoadInterval, 0, "0: act at once")
	th.CriticalLoadHibernate = rc.duration("critical-load-hibernate-seconds", int64(o.criticalLoadHibernateSeconds), time.Second, 0, throttle.MaxCriticalLoadHibernate, 0, "0: stop instead")
	th.ThrottleQuery, th.ThrottleHTTP = o.throttleQuery, o.throttleHTTP
	th.HTTPInterval = ms("throttle-http-interval-millis", o.throttleHTTPIntervalMillis, throttle.MinHTTPInterval, throttle.MaxHTTPInterval, th.HTTPInterval, "")
	th.HTTPTimeout = ms("throttle-http-timeout-millis", o.throttleHTTPTimeoutMillis, throttle.MinHTTPTimeout, throttle.MaxHTTPTimeout, th.HTTPTimeout, "")
	th.FlagFile, th.AdditionalFlagFile = o.throttleFlagFile, o.throttleAdditional
	th.MaxCommitLatency = ms("max-commit-latency", o.commitLatencyMs, 0, throttle.MaxCommitLatencyLimit, 0, "0: no latency target")
	// NaN fails both comparisons.
	if o.niceRatio >= 0 && o.niceRatio <= throttle.MaxNiceRatio {
		th.NiceRatio = o.niceRatio
	} else {
		rc.errs = append(rc.errs, fmt.Errorf("--nice-ratio %v is out of range: use 0 to %v", o.niceRatio, throttle.MaxNiceRatio))
	}
	c.SocketPath = o.socketFile
	if c.SocketPath == "" && c.Database != "" && c.Table != "" {
		c.SocketPath = control.DefaultSocketPath(c.Database, c.Table)
	}
	if port := rc.whole("serve-tcp-port", int64(o.tcpPort), 0, migration.MaxPort, 0, "0: none"); port > 0 {
		c.TCPAddr = fmt.Sprintf("127.0.0.1:%d", port)
	}
	c.PostponeCutOverFlagFile, c.PanicFlagFile = o.postponeFlagFile, o.panicFlagFile
	c.CheckpointInterval = rc.duration("checkpoint-seconds", int64(o.checkpointSeconds), time.Second, time.Second, time.Hour, c.CheckpointInterval, "")
	c.CutOverExponentialBackoff = o.cutOverBackoff
	c.ExponentialBackoffMaxInterval = rc.duration("exponential-backoff-max-interval", int64(o.backoffMaxSeconds), time.Second, time.Second, migration.MaxExponentialBackoff, c.ExponentialBackoffMaxInterval, "")
	c.ForceNamedCutOver, c.ForceNamedPanic, c.InitiallyDropSocketFile = o.forceNamedCutOver, o.forceNamedPanic, o.dropSocket
	c.HooksStatusInterval = rc.duration("hooks-status-interval", int64(o.hooksStatusSeconds), time.Second, time.Second, migration.MaxStatusInterval, c.HooksStatusInterval, "")
	if o.hooksTimeout < 0 {
		rc.errs = append(rc.errs, fmt.Errorf("--hooks-timeout %s is negative: use 0 (no limit) or a duration such as 10m", o.hooksTimeout))
	} else {
		c.HooksTimeout = o.hooksTimeout
	}
	th.IgnoreHTTPErrors = o.ignoreHTTPErrors
	c.MasterUser, c.MasterPassword = o.masterUser, o.masterPassword
	c.AnalyzeGhostTable = o.analyzeGhost
	if !strings.EqualFold(o.storageEngine, "innodb") {
		rc.errs = append(rc.errs, fmt.Errorf("--storage-engine=%s: doppel migrates InnoDB tables only (its copy and cut-over rely on InnoDB's row locks and transactions); leave the flag out", o.storageEngine))
	}
	if c.Resume && c.InitiallyDropGhostTable {
		o.notes = append(o.notes, "--initially-drop-ghost-table is ignored with --resume, as gh-ost does: the stopped run's ghost is continued, not dropped")
	}
	ghostErrs, notes := ghostNotes(o.ghost)
	rc.errs = append(rc.errs, ghostErrs...)
	o.notes = append(o.notes, notes...)
	c.HooksPath, c.HooksHint, c.HooksHintOwner, c.HooksHintToken = o.hooksPath, o.hooksHint, o.hooksHintOwner, o.hooksHintToken
	if len(rc.errs) > 0 {
		return migration.Config{}, errors.Join(append(rc.errs, c.Check())...)
	}
	return c, nil
}

// rangeCheck collects the flags that are out of range. A value out of range is replaced by def in
// the Config only so that Config.Check does not report that flag a second time; the Config is
// never used then.
type rangeCheck struct{ errs []error }

// whole returns n when it lies in [lo, hi], def otherwise. note, when set, explains a special value.
func (rc *rangeCheck) whole(name string, n, lo, hi, def int64, note string) int64 {
	if n >= lo && n <= hi {
		return n
	}
	if note != "" {
		note = " (" + note + ")"
	}
	rc.errs = append(rc.errs, fmt.Errorf("--%s %d is out of range: use %d to %d%s", name, n, lo, hi, note))
	return def
}

// duration is whole for a flag counted in units, checked before it is multiplied.
func (rc *rangeCheck) duration(name string, n int64, unit, lo, hi, def time.Duration, note string) time.Duration {
	return time.Duration(rc.whole(name, n, int64(lo/unit), int64(hi/unit), int64(def/unit), note)) * unit
}

// connConfig says how to reach the server; --conf and MYSQL_PWD fill what the command line left unset.
func (o *options) connConfig(fs *flag.FlagSet) (dbconn.Config, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.conf != "" {
		sections, err := readConf(o.conf)
		if err != nil {
			return dbconn.Config{}, err
		}
		if err := o.applyOsc(sections["osc"], set); err != nil {
			return dbconn.Config{}, err
		}
		conf := sections["client"]
		for key, target := range map[string]*string{"user": &o.user, "password": &o.password, "host": &o.host} {
			if v, ok := conf[key]; ok && !set[key] {
				*target = v
			}
		}
		if v, ok := conf["port"]; ok && !set["port"] {
			p, err := strconv.Atoi(v)
			if err != nil || p < 1 || p > migration.MaxPort {
				return dbconn.Config{}, fmt.Errorf("--conf: port %q is not a port: use 1 to %d", v, migration.MaxPort)
			}
			o.port = p
		}
	}
	if o.askPass {
		pw, err := readPassword(os.Stdin, os.Stderr)
		if err != nil {
			return dbconn.Config{}, err
		}
		o.password = pw
	}
	if !set["password"] && o.password == "" {
		o.password = os.Getenv("MYSQL_PWD")
	}
	if o.mysqlTimeout < 0 || o.mysqlTimeout > 3600 || o.mysqlTimeout != o.mysqlTimeout {
		return dbconn.Config{}, fmt.Errorf("--mysql-timeout %v is out of range: use 0 to 3600 seconds", o.mysqlTimeout)
	}
	return dbconn.Config{
		Host: o.host, Port: o.port, User: o.user, Password: o.password,
		ConnectTimeout: time.Duration(o.mysqlTimeout * float64(time.Second)),
		TLS:            dbconn.TLSConfig{Enabled: o.ssl || o.sslCA != "" || o.sslCert != "", CAFile: o.sslCA, CertFile: o.sslCert, KeyFile: o.sslKey, AllowInsecure: o.sslAllowInsecure},
	}, nil
}

// applyOsc takes gh-ost's [osc] section of --conf: chunk_size, max_load and max_lag_millis, each
// unless its flag is on the command line (replication_lag_query is deprecated in gh-ost and
// ignored). doppel plan has none of these flags, and ignores the section.
func (o *options) applyOsc(osc map[string]string, set map[string]bool) error {
	whole := func(key string, target any) error {
		v, ok := osc[key]
		if !ok || set[key] {
			return nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("--conf: [osc] %s = %q is not a whole number", strings.ReplaceAll(key, "-", "_"), v)
		}
		switch t := target.(type) {
		case *int64:
			*t = n
		case *int:
			*t = int(n)
		}
		return nil
	}
	if err := whole("chunk-size", &o.chunkSize); err != nil {
		return err
	}
	if err := whole("max-lag-millis", &o.maxLagMillis); err != nil {
		return err
	}
	if v, ok := osc["max-load"]; ok && !set["max-load"] {
		o.maxLoad = v
	}
	return nil
}

// deferFlag is --defer-secondary-indexes, a boolean flag with a third state, unset: doppel then
// defers only when no replica replays the build.
type deferFlag struct{ mode *migration.IndexDeferral }

func (f deferFlag) IsBoolFlag() bool { return true }

func (f deferFlag) String() string {
	if f.mode == nil {
		return ""
	}
	switch *f.mode {
	case migration.DeferAlways:
		return "true"
	case migration.DeferNever:
		return "false"
	default:
		return ""
	}
}

func (f deferFlag) Set(s string) error {
	on, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	*f.mode = migration.DeferNever
	if on {
		*f.mode = migration.DeferAlways
	}
	return nil
}
