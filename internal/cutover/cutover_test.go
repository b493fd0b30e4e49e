package cutover

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sandbox"
)

var sb *sandbox.Sandbox

func TestMain(m *testing.M) { sandbox.RunTests(m, sandbox.Options{NoReplica: true}, &sb) }

type catchUpFunc func(ctx context.Context) error

func (f catchUpFunc) CatchUp(ctx context.Context) error { return f(ctx) }

var caughtUp = catchUpFunc(func(context.Context) error { return nil })

// setup creates `t` with rows marked 'orig' and `_t_gho` with rows marked 'ghost'.
func setup(t *testing.T) (*sql.DB, Config) {
	t.Helper()
	name, db := sb.NewDB(t,
		"CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))",
		"CREATE TABLE _t_gho (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10), extra INT NULL)",
		"INSERT INTO t (v) VALUES ('orig'), ('orig')",
		"INSERT INTO _t_gho (v) VALUES ('ghost'), ('ghost')")
	return db, Config{DB: db, Schema: name, Table: "t", Ghost: "_t_gho", Old: "_t_del", LockTimeout: time.Second, Attempts: 3, CatchUp: caughtUp}
}

func tableHolds(t *testing.T, db *sql.DB, table, want string) {
	t.Helper()
	var v string
	if err := db.QueryRow("SELECT v FROM `" + table + "` ORDER BY id LIMIT 1").Scan(&v); err != nil {
		t.Fatalf("reading %s: %v", table, err)
	}
	if v != want {
		t.Fatalf("%s holds %q rows, want %q", table, v, want)
	}
}

func tables(t *testing.T, db *sql.DB) string { t.Helper(); return sandbox.Tables(t, db) }

func TestSwapUnderWrites(t *testing.T) {
	db, cfg := setup(t)
	// Writers keep inserting through the swap; none may fail, and every row written after the swap
	// must land in the new table.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var writes, failures atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := db.Exec("INSERT INTO t (v) VALUES ('w')"); err != nil {
					failures.Add(1)
					t.Errorf("write failed during cut-over: %v", err)
					return
				}
				writes.Add(1)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	res, err := Run(context.Background(), cfg)
	time.Sleep(100 * time.Millisecond)
	stop()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 1 || res.Blocked <= 0 || res.Blocked > time.Second {
		t.Errorf("result %+v", res)
	}
	tableHolds(t, db, "t", "ghost")
	tableHolds(t, db, "_t_del", "orig")
	if got := tables(t, db); got != "_t_del,t" {
		t.Errorf("tables %s, want _t_del,t", got)
	}
	var afterSwap int
	if err := db.QueryRow("SELECT COUNT(*) FROM t WHERE v = 'w'").Scan(&afterSwap); err != nil {
		t.Fatal(err)
	}
	if afterSwap == 0 || failures.Load() != 0 {
		t.Errorf("%d writes landed in the new table, %d failed", afterSwap, failures.Load())
	}
}

func TestLongTransactionTimesOutThenRetries(t *testing.T) {
	db, cfg := setup(t)
	// A transaction that has read t holds a metadata lock until it ends: LOCK TABLES must time out,
	// leave t usable, and a later attempt succeed once the transaction ends.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("SELECT * FROM t"); err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int64
	cfg.CatchUp = catchUpFunc(func(context.Context) error { attempts.Add(1); return nil })
	cfg.Attempts = 5
	done := make(chan error, 1)
	go func() { _, err := Run(context.Background(), cfg); done <- err }()
	time.Sleep(1500 * time.Millisecond) // past the first lock wait timeout
	// Between attempts the original is fully usable by others.
	if _, err := db.Exec("INSERT INTO t (v) VALUES ('between')"); err != nil {
		t.Fatalf("original not usable between attempts: %v", err)
	}
	if got := tables(t, db); got != "_t_gho,t" && got != "_t_del,_t_gho,t" {
		t.Errorf("tables while blocked: %s", got)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	tableHolds(t, db, "t", "ghost")
	tableHolds(t, db, "_t_del", "orig")
}

func TestCatchUpFailureChangesNothing(t *testing.T) {
	db, cfg := setup(t)
	cfg.Attempts = 2
	boom := errors.New("binlog stream broken")
	cfg.CatchUp = catchUpFunc(func(context.Context) error { return boom })
	if _, err := Run(context.Background(), cfg); !errors.Is(err, boom) {
		t.Fatalf("error %v, want %v", err, boom)
	}
	tableHolds(t, db, "t", "orig")
	if got := tables(t, db); got != "_t_gho,t" {
		t.Errorf("tables %s, want _t_gho,t (no sentry left)", got)
	}
}

func TestOldNameTaken(t *testing.T) {
	db, cfg := setup(t)
	if _, err := db.Exec("CREATE TABLE _t_del (id INT PRIMARY KEY, v VARCHAR(10))"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO _t_del VALUES (1, 'keep')"); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), cfg); !errors.Is(err, ErrOldNameTaken) {
		t.Fatalf("error %v, want ErrOldNameTaken", err)
	}
	tableHolds(t, db, "t", "orig")
	tableHolds(t, db, "_t_del", "keep")
}

func TestSentryNameTaken(t *testing.T) {
	db, cfg := setup(t)
	if _, err := db.Exec("CREATE TABLE t_swap (id INT PRIMARY KEY, v VARCHAR(10))"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO t_swap VALUES (1, 'keep')"); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), cfg); !errors.Is(err, ErrSentryExists) {
		t.Fatalf("error %v, want ErrSentryExists", err)
	}
	tableHolds(t, db, "t", "orig")
	tableHolds(t, db, "t_swap", "keep")
}

// TestNoWriteSlipsIntoTheOldTable: writes queued behind the cut-over's lock must all land in the new
// table. The RENAME locks tables in name order; with a sentry named `_t_del`, which sorts before `t`,
// unlocking as soon as the sentry is dropped used to let queued writes into the old table first: lost
// to the new one. The sentry is `t_swap` now, after `t`.
func TestNoWriteSlipsIntoTheOldTable(t *testing.T) {
	for attempt := 0; attempt < 5; attempt++ {
		db, cfg := setup(t)
		var locked atomic.Bool
		cfg.Failpoint = func(step string) {
			if step == "locked" {
				locked.Store(true)
			}
		}
		stop := startWriters(t, db, 8, &locked)
		time.Sleep(50 * time.Millisecond)
		_, err := Run(context.Background(), cfg)
		time.Sleep(50 * time.Millisecond)
		queued := stop()
		if err != nil {
			t.Fatal(err)
		}
		if slipped := inOldTable(t, db, queued); slipped > 0 {
			t.Fatalf("attempt %d: %d writes queued behind the lock landed in the old table", attempt, slipped)
		}
	}
}

// TestPrepareUnderTheLock: Prepare runs while the original is locked, after the catch-up; what it
// made stays with the swapped table; a failing Prepare is undone and nothing is renamed; an Undo
// that cannot undo ends the attempts.
func TestPrepareUnderTheLock(t *testing.T) {
	db, cfg := setup(t)
	if _, err := db.Exec("CREATE TABLE audit (n INT)"); err != nil {
		t.Fatal(err)
	}
	createTrigger := func(ctx context.Context) error {
		// A write to the original must wait: it is locked.
		conn, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SET SESSION lock_wait_timeout = 1"); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO t (v) VALUES ('during')"); dbconn.ErrorNumber(err) != 1205 {
			return fmt.Errorf("a write to the original during Prepare: %w, want a lock wait timeout", err)
		}
		_, err = db.ExecContext(ctx, "CREATE TRIGGER t_audit AFTER INSERT ON _t_gho FOR EACH ROW INSERT INTO audit VALUES (NEW.id)")
		return err
	}
	dropTrigger := func(ctx context.Context) error {
		_, err := db.ExecContext(ctx, "DROP TRIGGER IF EXISTS t_audit")
		return err
	}
	triggers := func() string {
		var names []string
		rows, err := db.Query("SELECT CONCAT(TRIGGER_NAME, ' on ', EVENT_OBJECT_TABLE) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?", cfg.Schema)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return strings.Join(names, ",")
	}

	boom := errors.New("cannot create the trigger")
	failing := cfg
	failing.Attempts = 1
	failing.Prepare = func(ctx context.Context) error {
		if err := createTrigger(ctx); err != nil {
			return err
		}
		return boom
	}
	failing.Undo = dropTrigger
	if _, err := Run(context.Background(), failing); !errors.Is(err, boom) {
		t.Fatalf("error %v, want %v", err, boom)
	}
	tableHolds(t, db, "t", "orig")
	if got := triggers(); got != "" {
		t.Errorf("triggers %q after a failed Prepare, want none", got)
	}

	// What cannot be undone ends the attempts.
	spoiled := cfg
	spoiled.Attempts = 3
	var tries int
	spoiled.Prepare = func(context.Context) error { tries++; return boom }
	spoiled.Undo = func(context.Context) error { return fmt.Errorf("the ghost was changed for good: %w", ErrAbort) }
	if _, err := Run(context.Background(), spoiled); !errors.Is(err, ErrAbort) || !errors.Is(err, boom) || tries != 1 {
		t.Fatalf("error %v after %d attempts, want one attempt ending with both errors", err, tries)
	}
	tableHolds(t, db, "t", "orig")

	cfg.Prepare, cfg.Undo = createTrigger, dropTrigger
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	tableHolds(t, db, "t", "ghost")
	if got := triggers(); got != "t_audit on t" {
		t.Errorf("triggers %q after the swap, want t_audit on t", got)
	}
	if _, err := db.Exec("INSERT INTO t (v) VALUES ('after')"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM audit").Scan(&n); err != nil || n != 1 {
		t.Errorf("audit holds %d rows (%v) after one insert into the new table, want 1", n, err)
	}
}

// TestPrepareLockedRepointsChildren: LockAlso locks a child table with the original, and
// PrepareLocked runs in the locking session, which alone can alter it; a failed attempt runs
// UndoLocked there before the lock goes. The swap carries the re-pointed constraint to the new t.
func TestPrepareLockedRepointsChildren(t *testing.T) {
	db, cfg := setup(t)
	if _, err := db.Exec("CREATE TABLE c (id INT PRIMARY KEY, pid INT, CONSTRAINT c_fk FOREIGN KEY (pid) REFERENCES t (id) ON DELETE CASCADE)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO c VALUES (1, 1), (2, 2)"); err != nil {
		t.Fatal(err)
	}
	// locked fails unless writes to the child and to the original wait: both are locked.
	locked := func(ctx context.Context) error {
		conn, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SET SESSION lock_wait_timeout = 1"); err != nil {
			return err
		}
		for _, q := range []string{"INSERT INTO c VALUES (3, 1)", "INSERT INTO t (v) VALUES ('during')"} {
			if _, err := conn.ExecContext(ctx, q); dbconn.ErrorNumber(err) != 1205 {
				return fmt.Errorf("%s while locked: %w, want a lock wait timeout", q, err)
			}
		}
		return nil
	}
	point := func(ctx context.Context, conn *sql.Conn, parent string) error {
		for _, q := range []string{"SET SESSION foreign_key_checks = 0", "ALTER TABLE c DROP FOREIGN KEY c_fk",
			"ALTER TABLE c ADD CONSTRAINT c_fk FOREIGN KEY (pid) REFERENCES " + parent + " (id) ON DELETE CASCADE",
			"SET SESSION foreign_key_checks = 1"} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}
	references := func() string {
		var ref string
		if err := db.QueryRow("SELECT REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND CONSTRAINT_NAME = 'c_fk'", cfg.Schema).Scan(&ref); err != nil {
			t.Fatal(err)
		}
		return ref
	}
	cfg.LockAlso = []string{"`" + cfg.Schema + "`.`c`"}
	boom := errors.New("the last check failed")
	var undone int
	failing := cfg
	failing.Attempts = 1
	failing.PrepareLocked = func(ctx context.Context, conn *sql.Conn) error {
		if err := locked(ctx); err != nil {
			return err
		}
		if err := point(ctx, conn, "_t_gho"); err != nil {
			return err
		}
		return boom
	}
	failing.UndoLocked = func(ctx context.Context, conn *sql.Conn) error {
		undone++
		if err := locked(ctx); err != nil {
			return fmt.Errorf("undoing: %w", err)
		}
		return point(ctx, conn, "t")
	}
	if _, err := Run(context.Background(), failing); !errors.Is(err, boom) || undone != 1 {
		t.Fatalf("error %v, undone %d times; want %v, undone once", err, undone, boom)
	}
	tableHolds(t, db, "t", "orig")
	if got := references(); got != "t" {
		t.Errorf("after a failed attempt c_fk references %s, want t", got)
	}

	cfg.PrepareLocked = func(ctx context.Context, conn *sql.Conn) error {
		if err := locked(ctx); err != nil {
			return err
		}
		return point(ctx, conn, "_t_gho")
	}
	cfg.UndoLocked = func(ctx context.Context, conn *sql.Conn) error { return point(ctx, conn, "t") }
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	tableHolds(t, db, "t", "ghost")
	if got := references(); got != "t" {
		t.Errorf("after the swap c_fk references %s, want t (the former ghost)", got)
	}
	if _, err := db.Exec("DELETE FROM t WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM c WHERE pid = 1").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d child rows (%v) of a deleted parent of the new t, want the delete to cascade", n, err)
	}
}

// TestRenameEndedBeforeQueued: a RENAME that ends before it is seen waiting (killed, or failed)
// ends the attempt, and its outcome stays for the attempt, which waits for it after unlocking: it
// used to be taken by waitQueued, and the attempt then waited for it forever.
func TestRenameEndedBeforeQueued(t *testing.T) {
	_, cfg := setup(t)
	killed := errors.New("query execution was interrupted")
	renamed := make(chan error, 1)
	renamed <- killed
	err := waitQueued(context.Background(), cfg, -1, waitPoint{}, renamed) // no session -1: never seen waiting
	if err == nil || !errors.Is(err, killed) {
		t.Fatalf("waitQueued: %v, want the RENAME's own error", err)
	}
	select {
	case got := <-renamed:
		if !errors.Is(got, killed) {
			t.Fatalf("the RENAME's outcome for the attempt is %v, want %v", got, killed)
		}
	default:
		t.Fatal("waitQueued kept the RENAME's outcome: the attempt would wait for it forever")
	}
}

// TestRenameWaitsPastTheGhost: a session holds the ghost's metadata lock while the cut-over locks
// the original (as MariaDB's purge of the ghost's old row versions does, a moment at a time). The
// RENAME then waits for the ghost, which sorts before the original: taken for queued on the
// original, the sentry would go and the writes waiting for the original would reach the old
// table. With the server's lock view (the sandbox installs metadata_lock_info) the cut-over waits
// until the RENAME has the ghost's lock, and no write slips.
func TestRenameWaitsPastTheGhost(t *testing.T) {
	db, cfg := setup(t)
	if _, err := newLockView(context.Background(), db); err != nil {
		t.Fatalf("the sandbox shows no metadata locks: %v", err)
	}
	holder, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	var locked atomic.Bool
	released := make(chan struct{})
	cfg.Failpoint = func(step string) {
		if step != "locked" || locked.Load() {
			return
		}
		locked.Store(true)
		// Hold the ghost's metadata lock until well after the RENAME is issued.
		if _, err := holder.ExecContext(context.Background(), "BEGIN"); err != nil {
			t.Error(err)
		}
		if _, err := holder.ExecContext(context.Background(), "SELECT COUNT(*) FROM _t_gho"); err != nil {
			t.Error(err)
		}
		go func() {
			defer close(released)
			time.Sleep(300 * time.Millisecond)
			_, _ = holder.ExecContext(context.Background(), "COMMIT")
		}()
	}
	cfg.LockTimeout = 2 * time.Second
	stop := startWriters(t, db, 4, &locked)
	time.Sleep(50 * time.Millisecond)
	_, err = Run(context.Background(), cfg)
	time.Sleep(50 * time.Millisecond)
	queued := stop()
	<-released
	if err != nil {
		t.Fatal(err)
	}
	if slipped := inOldTable(t, db, queued); slipped > 0 {
		t.Fatalf("%d writes queued behind the lock landed in the old table while the RENAME waited for the ghost", slipped)
	}
}

// startWriters starts n sessions inserting rows into t, each marked with a token, until the
// returned stop is called; stop returns the tokens of the inserts that began while locked was set.
func startWriters(t *testing.T, db *sql.DB, n int, locked *atomic.Bool) (stop func() []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var queued []string
	var seq atomic.Int64
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				wasLocked := locked.Load()
				token := fmt.Sprintf("q%d", seq.Add(1))
				if _, err := db.Exec("INSERT INTO t (v) VALUES (?)", token); err != nil {
					t.Errorf("write failed: %v", err)
					return
				}
				if wasLocked {
					mu.Lock()
					queued = append(queued, token)
					mu.Unlock()
				}
			}
		}()
	}
	return func() []string {
		cancel()
		wg.Wait()
		return queued
	}
}

// inOldTable counts the rows of tokens that reached the old table, _t_del.
func inOldTable(t *testing.T, db *sql.DB, tokens []string) int {
	t.Helper()
	slipped := 0
	for _, token := range tokens {
		var n int
		if err := db.QueryRow("SELECT COUNT(*) FROM _t_del WHERE v = ?", token).Scan(&n); err != nil {
			t.Fatal(err)
		}
		slipped += n
	}
	return slipped
}
