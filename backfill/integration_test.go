package backfill

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/doppel-sql/doppel/control"
	"github.com/doppel-sql/doppel/internal/changelog"
	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/internal/sandbox"
	"github.com/doppel-sql/doppel/metrics"
)

var sb *sandbox.Sandbox

func TestMain(m *testing.M) { sandbox.RunTests(m, sandbox.Options{}, &sb) }

// testConfig runs sqlText on database db through the replica (its primary runs it, its lag
// throttles), with no socket unless the test gives one.
func testConfig(t *testing.T, db, sqlText string) Config {
	c := DefaultConfig()
	c.Conn = sb.Replica.Config()
	c.Database, c.SQL, c.Execute = db, sqlText, true
	c.NoSocket = true
	c.Retries = 5
	c.Throttle.AdditionalFlagFile = "" // gh-ost's host-wide pause file must not pause the tests
	c.Logger = zaptest.NewLogger(t)
	return c
}

func waitReplica(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, db *sql.DB, query string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// The value the backfill writes, and the application's new code writes on every write (played by
// triggers): c is a function of a and b.
const derived = "CRC32(CONCAT_WS('|', a, b))"

// TestBackfillUnderLoad backfills 200,000 rows on the primary while the random write load runs and
// the replica's lag is sampled: the lag must stay below --max-lag-millis, and the table must end
// equal to an oracle that got the same writes and the same UPDATE natively, at once.
//
// The load plays an expand–contract deployment: the application's new code already writes c on
// every insert and update (BEFORE triggers, on both tables), and the backfill fills the rows
// nobody has written since the column was added. Any row the chunks missed would keep c NULL in
// the table while the oracle's native UPDATE fills it.
func TestBackfillUnderLoad(t *testing.T) {
	const rows = 200_000
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	table := "CREATE TABLE %s (id BIGINT NOT NULL PRIMARY KEY, a INT NOT NULL, b VARCHAR(40) CHARACTER SET utf8mb4 NULL, c BIGINT UNSIGNED NULL, KEY (a))"
	dbName, db := sb.NewDB(t, fmt.Sprintf(table, "t"), fmt.Sprintf(table, "o"),
		fmt.Sprintf("INSERT INTO t (id, a, b) SELECT seq, seq * 7919 %% 100003, CONCAT('b', seq) FROM seq_1_to_%d", rows),
		"INSERT INTO o SELECT * FROM t")
	for _, tbl := range []string{"t", "o"} {
		sandbox.MustExec(t, db,
			fmt.Sprintf("CREATE TRIGGER %s_bi BEFORE INSERT ON %s FOR EACH ROW SET NEW.c = CRC32(CONCAT_WS('|', NEW.a, NEW.b))", tbl, tbl),
			fmt.Sprintf("CREATE TRIGGER %s_bu BEFORE UPDATE ON %s FOR EACH ROW SET NEW.c = CRC32(CONCAT_WS('|', NEW.a, NEW.b))", tbl, tbl))
	}
	waitReplica(t)
	gen, err := loadgen.New(ctx, loadgen.Config{DB: db, Schema: dbName, Table: "t", Oracle: "o", Columns: []string{"a", "b"}, Workers: 4, Rate: 300})
	if err != nil {
		t.Fatal(err)
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = gen.Run(loadCtx) }()
	lags := sampleLag(loadCtx, t, &wg, dbName, time.Second)

	cfg := testConfig(t, dbName, "UPDATE t SET c = "+derived+" WHERE c IS NULL")
	cfg.Throttle.MaxLag = time.Second
	// Half way, the replica stops applying for a while: no chunk may run until it has caught up.
	wg.Add(1)
	stall := stallReplica(loadCtx, t, &wg, db, dbName, lags)
	cfg.SocketPath, cfg.NoSocket = filepath.Join(t.TempDir(), "bf.sock"), false
	reg := metrics.NewRegistry()
	if cfg.Metrics, err = metrics.NewBackfill(reg, dbName, "t"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cfg.Out = &out
	// The socket answers while it runs.
	statusDone := make(chan string, 1)
	go func() {
		for ctx.Err() == nil {
			if answer, err := control.Send(ctx, "unix", cfg.SocketPath, "status"); err == nil {
				statusDone <- answer
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	res, err := Run(ctx, cfg)
	stopLoad()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	select {
	case answer := <-statusDone:
		if !strings.Contains(answer, "backfill `"+dbName+"`.`t`") {
			t.Errorf("status answered %q", answer)
		}
	default:
		t.Error("the socket never answered status")
	}
	stats := gen.Stats()
	t.Logf("backfill: %d rows in %d chunks, %d affected, %s; load: %d transactions committed, %d failed; replica lag: %s",
		res.Rows, res.Chunks, res.Affected, res.Duration.Round(time.Millisecond), stats.Committed, stats.Failed, lags.summary())
	if stats.Committed < 100 || stats.Failed > 0 || stats.Divergent > 0 {
		t.Errorf("the load did not run cleanly: %+v", stats.Errors)
	}
	if lags.n < 10 {
		t.Errorf("replica lag sampled only %d times", lags.n)
	}
	if lags.max >= cfg.Throttle.MaxLag {
		t.Errorf("replica lag reached %s (outside the stall the test made), above --max-lag-millis %s", lags.max, cfg.Throttle.MaxLag)
	}
	switch {
	case !stall.happened:
		t.Error("the replica was never stalled: the backfill ended too soon")
	case stall.chunksDuring > 1:
		t.Errorf("%d chunks ran while the replica was stopped or lagging behind --max-lag-millis", stall.chunksDuring)
	default:
		t.Logf("chunks committed while the replica was stalled or catching up: %d", stall.chunksDuring)
	}
	if res.Rows < rows*9/10 || res.Chunks < 10 || res.Affected < rows/2 {
		t.Errorf("the backfill went through %d rows in %d chunks and changed %d", res.Rows, res.Chunks, res.Affected)
	}
	sandbox.MustExec(t, db, "UPDATE o SET c = "+derived+" WHERE c IS NULL")
	if n := count(t, db, "SELECT COUNT(*) FROM t WHERE c IS NULL OR c <> "+derived); n != 0 {
		t.Errorf("%d rows of t do not hold the backfilled value", n)
	}
	if err := loadgen.Compare(ctx, db, dbName, "o", "t", []string{"id"}); err != nil {
		t.Error(err)
	}
	waitReplica(t)
	rdb, err := sb.Replica.DB(dbName)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if err := loadgen.CompareTables(ctx, loadgen.Side{DB: db, Schema: dbName, Table: "t"}, loadgen.Side{DB: rdb, Schema: dbName, Table: "t"}, []string{"id"}); err != nil {
		t.Errorf("the replica differs: %v", err)
	}
}

// lagSamples is the replica lag seen while a backfill runs, but for the stall the test makes.
type lagSamples struct {
	mu  sync.Mutex
	n   int
	max time.Duration
	sum time.Duration
	// stalled is true from the stall's start until, once the replica is restarted, the lag is
	// back under half of maxLag: the lag the test itself made is not the backfill's.
	stalled, restarted bool
	maxLag             time.Duration // of the backfill
	recovery           chan struct{} // closed when the stall ends
}

// stallResult is what the backfill did while the test held the replica back.
type stallResult struct {
	happened     bool
	chunksDuring int64 // chunks committed from the stall's start until the lag was back within bounds
}

// stallReplica stops the replica's SQL thread for 2.5 s once the backfill has done 5 chunks, then
// starts it again, and counts the chunks committed from 200 ms into the stall (time for the
// throttle to see it) until the replica is back within --max-lag-millis.
func stallReplica(ctx context.Context, t *testing.T, wg *sync.WaitGroup, db *sql.DB, dbName string, lags *lagSamples) *stallResult {
	res := &stallResult{}
	rdb, err := sb.Replica.DB("")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer wg.Done()
		defer rdb.Close()
		for ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
			if n, err := chunksDone(ctx, db, dbName); err == nil && n >= 5 {
				break
			}
		}
		if ctx.Err() != nil {
			return
		}
		lags.mu.Lock()
		lags.stalled, lags.recovery = true, make(chan struct{})
		recovered := lags.recovery
		lags.mu.Unlock()
		if _, err := rdb.ExecContext(ctx, "STOP SLAVE SQL_THREAD"); err != nil {
			t.Error(err)
			return
		}
		time.Sleep(200 * time.Millisecond)
		before, err := chunksDone(ctx, db, dbName)
		time.Sleep(2300 * time.Millisecond)
		if _, err := rdb.ExecContext(context.WithoutCancel(ctx), "START SLAVE SQL_THREAD"); err != nil {
			t.Error(err)
			return
		}
		lags.mu.Lock()
		lags.restarted = true
		lags.mu.Unlock()
		select {
		case <-recovered:
		case <-ctx.Done():
			return
		}
		after, err2 := chunksDone(ctx, db, dbName)
		if err == nil && err2 == nil {
			res.happened, res.chunksDuring = true, after-before
		}
	}()
	return res
}

func (l *lagSamples) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		return "not sampled"
	}
	return fmt.Sprintf("max %s, mean %s over %d samples", l.max.Round(time.Millisecond), (l.sum / time.Duration(l.n)).Round(time.Millisecond), l.n)
}

// sampleLag reads, every 50 ms until ctx ends, the heartbeat the backfill writes on the primary as
// the replica has it: how far behind the replica is.
func sampleLag(ctx context.Context, t *testing.T, wg *sync.WaitGroup, dbName string, maxLag time.Duration) *lagSamples {
	l := &lagSamples{maxLag: maxLag}
	rdb, err := sb.Replica.DB(dbName)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer wg.Done()
		defer rdb.Close()
		heartbeats := changelog.New(dbName, CheckpointTable)
		for ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
			v, err := heartbeats.Read(ctx, rdb, changelog.HintHeartbeat)
			if err != nil {
				continue // not created yet
			}
			beat, err := changelog.ParseHeartbeat(v)
			if err != nil {
				continue
			}
			lag := time.Since(beat)
			l.mu.Lock()
			if l.stalled && l.restarted && lag < l.maxLag/2 {
				l.stalled = false
				close(l.recovery)
			}
			if !l.stalled {
				l.n++
				l.sum += lag
				l.max = max(l.max, lag)
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// TestBackfillResume stops a backfill with the panic command half way and resumes it from its
// checkpoint. The statement is not idempotent (v = v + 1, no WHERE), on a composite key of an
// integer and a text column: the table equals an oracle given the same UPDATE once, natively, only
// if no chunk was skipped or run twice.
func TestBackfillResume(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dbName, db := sb.NewDB(t,
		"CREATE TABLE k (tenant INT NOT NULL, code VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL, v INT NOT NULL, PRIMARY KEY (tenant, code))",
		"INSERT INTO k SELECT seq % 7, CONCAT(CHAR(65 + seq % 26), 'é', seq), seq FROM seq_1_to_30000",
		"CREATE TABLE k_oracle LIKE k", "INSERT INTO k_oracle SELECT * FROM k",
		"UPDATE k_oracle SET v = v + 1")
	cfg := testConfig(t, dbName, "UPDATE k SET v = v + 1")
	cfg.ChunkSize, cfg.ChunkTarget = 300, 0
	cfg.Throttle.NiceRatio = 1 // slow enough to be stopped half way
	cfg.SocketPath, cfg.NoSocket = filepath.Join(t.TempDir(), "bf.sock"), false

	stopped := make(chan error, 1)
	go func() {
		// Stop it once a few chunks are committed.
		for ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
			if n, err := chunksDone(ctx, db, dbName); err == nil && n >= 20 {
				// A second run of the statement meanwhile is refused.
				second := cfg
				second.Resume, second.Logger = true, nil
				if _, err := Run(ctx, second); err == nil || !strings.Contains(err.Error(), "another doppel backfill of this statement is running") {
					t.Errorf("a second run while the first runs: %v", err)
				}
				_, err := control.Send(ctx, "unix", cfg.SocketPath, "panic")
				stopped <- err
				return
			}
		}
	}()
	_, err := Run(ctx, cfg)
	if !errors.Is(err, ErrPanic) {
		t.Fatalf("the first run ended with %v, want the panic", err)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	done, err := chunksDone(ctx, db, dbName)
	if err != nil || done >= 100 {
		t.Fatalf("stopped after %d chunks (%v): not half way", done, err)
	}
	// A new run without --resume would redo the committed chunks: refused.
	if _, err := Run(ctx, cfg); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("a new run over the checkpoint: %v", err)
	}
	// Continue (a migration tool's way up) resumes it.
	cfg.Continue = true
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Rows != 30000 || res.Affected != 30000 {
		t.Errorf("resumed %v, %d rows, %d affected: want 30000 and 30000 over both runs", res.Resumed, res.Rows, res.Affected)
	}
	if err := loadgen.Compare(ctx, db, dbName, "k_oracle", "k", []string{"tenant", "code"}); err != nil {
		t.Error(err)
	}
	// Once done, a resume has nothing to do, nor has Continue.
	cfg.Continue, cfg.Resume = false, true
	if res, err := Run(ctx, cfg); err != nil || !res.AlreadyDone {
		t.Errorf("resuming a finished backfill: %v, %+v", err, res)
	}
	cfg.Continue, cfg.Resume = true, false
	if res, err := Run(ctx, cfg); err != nil || !res.AlreadyDone {
		t.Errorf("continuing a finished backfill: %v, %+v", err, res)
	}
	// Under another checkpoint key (another migration's), it is another backfill.
	cfg.CheckpointKey = "0007"
	if res, err := Run(ctx, cfg); err != nil || res.AlreadyDone || res.Rows != 30000 {
		t.Errorf("the same statement under another checkpoint key: %v, %+v", err, res)
	}
}

// chunksDone reads the chunks the one checkpoint of dbName records.
func chunksDone(ctx context.Context, db *sql.DB, dbName string) (int64, error) {
	var n sql.NullInt64
	err := db.QueryRowContext(ctx, "SELECT MAX(CAST(JSON_VALUE(value, '$.chunks') AS UNSIGNED)) FROM `"+dbName+"`.`"+CheckpointTable+"` WHERE hint LIKE 'checkpoint:%'").Scan(&n)
	return n.Int64, err
}

// TestBackfillDryRun counts, without changing anything, the rows an INSERT … SELECT and an
// UPDATE would touch; then runs the INSERT … SELECT and checks what it inserted.
func TestBackfillDryRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbName, db := sb.NewDB(t,
		"CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a INT NOT NULL, c INT NULL)",
		"INSERT INTO t (id, a) SELECT seq, seq % 10 FROM seq_1_to_45000",
		"CREATE TABLE arch (id INT NOT NULL PRIMARY KEY, a INT NOT NULL)")
	before := count(t, db, "SELECT COUNT(*) FROM t WHERE c IS NULL")
	for _, tc := range []struct {
		sql  string
		want int64
	}{
		{"INSERT INTO arch (id, a) SELECT id, a FROM t WHERE a IN (3, 4)", 9000},
		{"UPDATE t SET c = a WHERE a > 6", 13500},
		{"UPDATE t SET c = a", 45000},
	} {
		cfg := testConfig(t, dbName, tc.sql)
		cfg.Execute = false
		cfg.ChunkSize = 10000
		var out bytes.Buffer
		cfg.Out = &out
		res, err := Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows != tc.want || res.Estimated || res.Chunks != 5 {
			t.Errorf("%s: counted %d rows in %d chunks (estimated %v), want %d in 5", tc.sql, res.Rows, res.Chunks, res.Estimated, tc.want)
		}
		if !strings.Contains(out.String(), fmt.Sprintf("%d rows would be touched", tc.want)) {
			t.Errorf("the dry run said:\n%s", out.String())
		}
	}
	if n := count(t, db, "SELECT COUNT(*) FROM t WHERE c IS NULL"); n != before {
		t.Errorf("the dry runs changed t: %d rows without c, %d before", n, before)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM arch"); n != 0 {
		t.Errorf("the dry run inserted %d rows", n)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '"+dbName+"' AND TABLE_NAME = '"+CheckpointTable+"'"); n != 0 {
		t.Error("the dry run created the checkpoint table")
	}
	res, err := Run(ctx, testConfig(t, dbName, "INSERT INTO arch (id, a) SELECT id, a FROM t WHERE a IN (3, 4)"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Affected != 9000 {
		t.Errorf("inserted %d rows, want 9000", res.Affected)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM arch a JOIN t USING (id) WHERE t.a IN (3, 4) AND a.a = t.a"); n != 9000 {
		t.Errorf("arch holds %d of the 9000 rows", n)
	}
}

// TestBackfillRefuses: what needs the table is refused before anything runs, nothing created.
func TestBackfillRefuses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dbName, db := sb.NewDB(t,
		"CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a INT NOT NULL)",
		"CREATE TABLE nokey (a INT NULL, UNIQUE KEY (a))",
		"INSERT INTO t VALUES (1, 1), (2, 2)")
	for _, tc := range []struct{ sql, want string }{
		{"UPDATE t SET id = id + 10", "a column of the key"},
		{"UPDATE nokey SET a = 1", "needs a unique key on NOT NULL columns"},
		{"UPDATE missing SET a = 1", "not found"},
		{"INSERT INTO missing SELECT * FROM t", "does not exist"},
		{"UPDATE t SET a = 1 LIMIT 1", "LIMIT"},
	} {
		_, err := Run(ctx, testConfig(t, dbName, tc.sql))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error saying %q", tc.sql, err, tc.want)
		}
	}
	// Check refuses the same way, and reads the key when there is nothing to refuse.
	if _, err := Check(ctx, testConfig(t, dbName, "UPDATE t SET id = 1")); err == nil {
		t.Error("Check accepted an UPDATE of the key")
	}
	if res, err := Check(ctx, testConfig(t, dbName, "UPDATE t SET a = 2")); err != nil || res.Key != "PRIMARY" {
		t.Errorf("Check: %v, %+v", err, res)
	}
	if n := count(t, db, "SELECT SUM(a) FROM t"); n != 3 {
		t.Error("a refused backfill changed the table")
	}
}

// TestBackfillFindsReplicas: with --host the primary and no --throttle-control-replicas, the
// replicas the primary lists count: while the sandbox's replica does not apply, no chunk runs.
func TestBackfillFindsReplicas(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbName, db := sb.NewDB(t,
		"CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a INT NOT NULL, c INT NULL)",
		"INSERT INTO t (id, a) SELECT seq, seq FROM seq_1_to_2000")
	waitReplica(t)
	rdb, err := sb.Replica.DB("")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	sandbox.MustExec(t, rdb, "STOP SLAVE SQL_THREAD")
	restarted := false
	defer func() {
		if !restarted {
			sandbox.MustExec(t, rdb, "START SLAVE SQL_THREAD")
		}
	}()
	cfg := testConfig(t, dbName, "UPDATE t SET c = a")
	cfg.Conn = sb.Primary.Config()
	cfg.ChunkSize, cfg.ChunkTarget = 100, 0
	done := make(chan error, 1)
	go func() { _, err := Run(ctx, cfg); done <- err }()
	time.Sleep(2 * time.Second)
	if n := count(t, db, "SELECT COUNT(*) FROM t WHERE c IS NOT NULL"); n != 0 {
		t.Errorf("%d rows were updated while the replica was stopped", n)
	}
	sandbox.MustExec(t, rdb, "START SLAVE SQL_THREAD")
	restarted = true
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM t WHERE c = a"); n != 2000 {
		t.Errorf("%d rows updated, want 2000", n)
	}
}

// TestBackfillFlagFileAndSocket: while --throttle-flag-file exists no chunk runs and the status
// says why; chunk-size changed on the socket applies to the next chunks.
func TestBackfillFlagFileAndSocket(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbName, db := sb.NewDB(t,
		"CREATE TABLE t (id INT NOT NULL PRIMARY KEY, a INT NOT NULL, c INT NULL)",
		"INSERT INTO t (id, a) SELECT seq, seq FROM seq_1_to_3000")
	waitReplica(t)
	flag := filepath.Join(t.TempDir(), "throttle")
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, dbName, "UPDATE t SET c = a")
	cfg.Throttle.FlagFile = flag
	cfg.PanicFlagFile = filepath.Join(t.TempDir(), "panic") // never created: it must not stop the run
	cfg.ChunkSize, cfg.ChunkTarget = 1000, 0
	cfg.SocketPath, cfg.NoSocket = filepath.Join(t.TempDir(), "bf.sock"), false
	reg := metrics.NewRegistry()
	var err error
	if cfg.Metrics, err = metrics.NewBackfill(reg, dbName, "t"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var res *Result
	go func() { var err error; res, err = Run(ctx, cfg); done <- err }()
	send := func(cmd string) string {
		for ctx.Err() == nil {
			answer, err := control.Send(ctx, "unix", cfg.SocketPath, cmd)
			if err == nil {
				return answer
			}
			if errors.Is(err, control.ErrCommand) {
				t.Fatalf("%s: %v", cmd, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s: no answer", cmd)
		return ""
	}
	time.Sleep(time.Second)
	if status := send("sup"); !strings.Contains(status, "throttled") || !strings.Contains(status, "flag") {
		t.Errorf("sup while the flag file exists: %q", status)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM t WHERE c IS NOT NULL"); n != 0 {
		t.Errorf("%d rows were updated while the flag file existed", n)
	}
	send("chunk-size=100")
	if answer := send("chunk-size=?"); strings.TrimSpace(answer) != "100" {
		t.Errorf("chunk-size=? answered %q", answer)
	}
	if answer, err := control.Send(ctx, "unix", cfg.SocketPath, "unpostpone"); !errors.Is(err, control.ErrCommand) || !strings.Contains(answer, "no cut-over") {
		t.Errorf("unpostpone answered %q, %v", answer, err)
	}
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if res.Chunks != 30 || res.Rows != 3000 || res.Affected != 3000 {
		t.Errorf("%d chunks, %d rows, %d affected: want 30 chunks of 100 rows", res.Chunks, res.Rows, res.Affected)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "doppel_backfill_rows_affected_total" {
			if v := mf.GetMetric()[0].GetCounter().GetValue(); v != 3000 {
				t.Errorf("doppel_backfill_rows_affected_total is %v, want 3000", v)
			}
			return
		}
	}
	t.Error("no doppel_backfill_rows_affected_total")
}

// TestBackfillPanicFlagFile: --panic-flag-file stops the backfill between chunks, and a resumed run
// adds 1 to every row exactly once.
func TestBackfillPanicFlagFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbName, db := sb.NewDB(t,
		"CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v INT NOT NULL)",
		"INSERT INTO t SELECT seq, seq FROM seq_1_to_5000")
	waitReplica(t)
	cfg := testConfig(t, dbName, "UPDATE t SET v = v + 1")
	// 500 chunks, each resting twice its time: the run lasts well past the flag file's watch (every
	// 250 ms) after the fifth chunk, however fast the machine.
	cfg.ChunkSize, cfg.ChunkTarget = 10, 0
	cfg.Throttle.NiceRatio = 2
	cfg.PanicFlagFile = filepath.Join(t.TempDir(), "panic")
	go func() {
		for ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
			if n, err := chunksDone(ctx, db, dbName); err == nil && n >= 5 {
				_ = os.WriteFile(cfg.PanicFlagFile, nil, 0o600)
				return
			}
		}
	}()
	if _, err := Run(ctx, cfg); !errors.Is(err, ErrPanic) || !strings.Contains(err.Error(), "panic flag file") {
		t.Fatalf("got %v, want the panic flag file's stop", err)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM t WHERE v = id + 1"); n == 0 || n == 5000 {
		t.Fatalf("%d rows done when the flag file appeared: not part way", n)
	}
	if err := os.Remove(cfg.PanicFlagFile); err != nil {
		t.Fatal(err)
	}
	cfg.Resume, cfg.Throttle.NiceRatio = true, 0
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM t WHERE v = id + 1"); n != 5000 {
		t.Errorf("%d of 5000 rows got v + 1 exactly once", n)
	}
}
