package cutover

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/internal/sandbox"
)

// groupSetup creates tables named names, each with rows marked 'orig', and their ghosts with rows
// marked 'ghost', and installs the metadata_lock_info plugin a group swap needs on MariaDB.
func groupSetup(t *testing.T, names ...string) (*sql.DB, GroupConfig) {
	t.Helper()
	var stmts []string
	for _, n := range names {
		stmts = append(stmts,
			"CREATE TABLE `"+n+"` (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))",
			"CREATE TABLE `_"+n+"_gho` (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10), extra INT NULL)",
			"INSERT INTO `"+n+"` (v) VALUES ('orig'), ('orig')",
			"INSERT INTO `_"+n+"_gho` (v) VALUES ('ghost'), ('ghost')")
	}
	schema, db := sb.NewDB(t, stmts...)
	installLockInfo(t, db)
	g := GroupConfig{DB: db, LockTimeout: time.Second, Attempts: 3}
	for _, n := range names {
		g.Members = append(g.Members, Config{Schema: schema, Table: n, Ghost: "_" + n + "_gho", Old: "_" + n + "_del", CatchUp: caughtUp})
	}
	return db, g
}

func installLockInfo(t *testing.T, db *sql.DB) {
	t.Helper()
	if err := sandbox.InstallLockInfo(context.Background(), db); err != nil {
		t.Fatal(err)
	}
}

// TestGroupSwapUnderWrites swaps three tables in one RENAME again and again while writers insert
// into each: no write may fail, and no write may reach an original after its catch-up under the
// lock (the highest id each original held then is its highest id after the swap).
func TestGroupSwapUnderWrites(t *testing.T) {
	for round := 0; round < 15; round++ {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			names := []string{"parent", "child", "audit"}
			db, g := groupSetup(t, names...)
			atLock := make([]atomic.Int64, len(names))
			for i := range g.Members {
				q := "SELECT MAX(id) FROM `" + names[i] + "`"
				g.Members[i].UnderLock = func(ctx context.Context, locked *sql.Conn) error {
					var id int64
					err := locked.QueryRowContext(ctx, q).Scan(&id)
					atLock[i].Store(id)
					return err
				}
			}
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			var failures atomic.Int64
			for _, n := range names {
				for w := 0; w < 2; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for ctx.Err() == nil {
							if _, err := db.Exec("INSERT INTO `" + n + "` (v) VALUES ('w')"); err != nil {
								failures.Add(1)
								t.Errorf("write to %s failed during the group cut-over: %v", n, err)
								return
							}
						}
					}()
				}
			}
			time.Sleep(50 * time.Millisecond)
			var blocked time.Duration
			g.OnAttempt = func(b time.Duration, err error) {
				if err == nil {
					blocked = b
				}
			}
			res, err := RunGroup(context.Background(), g)
			time.Sleep(50 * time.Millisecond)
			stop()
			wg.Wait()
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != len(names) {
				t.Fatalf("results %+v", res)
			}
			t.Logf("tables blocked %s", blocked)
			for i, n := range names {
				tableHolds(t, db, n, "ghost")
				tableHolds(t, db, "_"+n+"_del", "orig")
				if res[i].Old != "_"+n+"_del" {
					t.Errorf("result %d: old %q", i, res[i].Old)
				}
				var maxOld int64
				if err := db.QueryRow("SELECT MAX(id) FROM `_" + n + "_del`").Scan(&maxOld); err != nil {
					t.Fatal(err)
				}
				if maxOld != atLock[i].Load() {
					t.Errorf("%s: a write reached the original after its catch-up: max id %d, %d under the lock", n, maxOld, atLock[i].Load())
				}
				var after int
				if err := db.QueryRow("SELECT COUNT(*) FROM `" + n + "` WHERE v = 'w'").Scan(&after); err != nil {
					t.Fatal(err)
				}
				if after == 0 {
					t.Errorf("no write reached the new %s", n)
				}
			}
			if got := tables(t, db); got != "_audit_del,_child_del,_parent_del,audit,child,parent" {
				t.Errorf("tables %s", got)
			}
		})
	}
}

// TestGroupFailureLeavesOriginals fails the group at each step before the last sentry is dropped:
// every original stays in place, untouched, and the ghosts and no sentry remain.
func TestGroupFailureLeavesOriginals(t *testing.T) {
	for _, step := range []string{"sentry", "locked", "prepared", "rename-queued", "released"} {
		t.Run(step, func(t *testing.T) {
			db, g := groupSetup(t, "a", "b", "c")
			g.Attempts = 1
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			g.Failpoint = func(s string) {
				if s == step {
					cancel()
				}
			}
			var undone atomic.Int64
			for i := range g.Members {
				g.Members[i].Prepare = func(context.Context) error { return nil }
				g.Members[i].Undo = func(context.Context) error { undone.Add(1); return nil }
			}
			_, err := RunGroup(ctx, g)
			if err == nil {
				t.Fatal("the group swapped although it was stopped")
			}
			for _, n := range []string{"a", "b", "c"} {
				tableHolds(t, db, n, "orig")
				tableHolds(t, db, "_"+n+"_gho", "ghost")
			}
			if got := tables(t, db); got != "_a_gho,_b_gho,_c_gho,a,b,c" {
				t.Errorf("tables %s", got)
			}
			if step != "sentry" && step != "locked" && undone.Load() != 3 {
				t.Errorf("%d preparations undone, want 3", undone.Load())
			}
			// The originals take writes again.
			sandbox.MustExec(t, db, "INSERT INTO a (v) VALUES ('after')", "INSERT INTO c (v) VALUES ('after')")
		})
	}
}

// TestGroupCheckFailsBeforeRename gives the swap up when one member's check under the lock fails:
// nothing is renamed, and the other members' locks are gone.
func TestGroupCheckFailsBeforeRename(t *testing.T) {
	db, g := groupSetup(t, "a", "b")
	g.Members[1].UnderLock = func(context.Context, *sql.Conn) error { return fmt.Errorf("rows differ: %w", ErrAbort) }
	_, err := RunGroup(context.Background(), g)
	if !errors.Is(err, ErrAbort) {
		t.Fatalf("err %v, want ErrAbort", err)
	}
	if got := tables(t, db); got != "_a_gho,_b_gho,a,b" {
		t.Errorf("tables %s", got)
	}
	tableHolds(t, db, "a", "orig")
	sandbox.MustExec(t, db, "INSERT INTO a (v) VALUES ('after')", "INSERT INTO b (v) VALUES ('after')")
}

// TestGroupOwnRename: each member's guard knows the group's RENAME, and only it.
func TestGroupOwnRename(t *testing.T) {
	_, g := groupSetup(t, "b", "a")
	s := g.Members[0].Schema
	ga, gb := NewGuard(s, "a", "_a_gho", "_a_del"), NewGuard(s, "b", "_b_gho", "_b_del")
	g.Members[0].Guard, g.Members[1].Guard = gb, ga
	if _, err := RunGroup(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	ga.renaming.Store(true)
	pairs := [][2][2]string{
		{{s, "a"}, {s, "a_swap"}}, {{s, "_a_gho"}, {s, "a"}},
		{{s, "b"}, {s, "b_swap"}}, {{s, "_b_gho"}, {s, "b"}},
	}
	if !ga.OwnRename(pairs) {
		t.Error("the group's RENAME is not recognized")
	}
	if ga.OwnRename(pairs[:2]) {
		t.Error("a RENAME of one member is taken for the group's")
	}
}

func TestWaitsFor(t *testing.T) {
	keys := []lockKey{{"s", "_a_gho"}, {"s", "_b_gho"}, {"s", "a"}, {"s", "a_swap"}, {"s", "b"}, {"s", "b_swap"}}
	held := func(names ...string) map[lockKey]bool {
		m := map[lockKey]bool{}
		for _, n := range names {
			m[lockKey{"s", n}] = true
		}
		return m
	}
	for _, tc := range []struct {
		name     string
		onSchema bool
		held     map[lockKey]bool
		want     string
		ok       bool
	}{
		{"waits for a", true, held("_a_gho", "_b_gho"), "a", true},
		{"waits for b", true, held("_a_gho", "_b_gho", "a", "a_swap"), "b", true},
		{"not yet on the schema", false, held(), "", false},
		{"waits for a ghost", true, held("_a_gho"), "_b_gho", true},
		{"not a prefix", true, held("_a_gho", "a"), "", false},
		{"holds all", true, held("_a_gho", "_b_gho", "a", "a_swap", "b", "b_swap"), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, ok := waitsFor(keys, tc.onSchema, tc.held)
			if ok != tc.ok || (ok && k[1] != tc.want) {
				t.Errorf("waitsFor = %v, %v; want %s, %v", k, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestGroupRefusedWithoutLockInfo(t *testing.T) {
	db, g := groupSetup(t, "a", "b")
	sandbox.MustExec(t, db, "UNINSTALL SONAME 'metadata_lock_info'")
	defer installLockInfo(t, db)
	_, err := RunGroup(context.Background(), g)
	if !errors.Is(err, ErrGroupUnsupported) {
		t.Fatalf("err %v, want ErrGroupUnsupported", err)
	}
	if got := tables(t, db); got != "_a_gho,_b_gho,a,b" {
		t.Errorf("tables %s", got)
	}
}

// TestGroupRenameKilled kills the group's RENAME while it waits for the first table: the attempt
// fails, nothing is renamed, and the next attempt swaps.
func TestGroupRenameKilled(t *testing.T) {
	db, g := groupSetup(t, "a", "b")
	killed := false
	g.Failpoint = func(step string) {
		if step != "rename-queued" || killed {
			return
		}
		killed = true
		var id int64
		if err := db.QueryRow("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'RENAME TABLE%'").Scan(&id); err != nil {
			t.Errorf("finding the RENAME: %v", err)
			return
		}
		if _, err := db.Exec(fmt.Sprintf("KILL QUERY %d", id)); err != nil {
			t.Errorf("killing the RENAME: %v", err)
		}
	}
	g.Backoff = func(int) time.Duration { return 10 * time.Millisecond }
	var failed []error
	g.OnAttempt = func(_ time.Duration, err error) {
		if err != nil {
			failed = append(failed, err)
		}
	}
	res, err := RunGroup(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || res[0].Attempts != 2 {
		t.Fatalf("failed attempts %v, result %+v", failed, res)
	}
	t.Logf("the first attempt: %v", failed[0])
	tableHolds(t, db, "a", "ghost")
	tableHolds(t, db, "_b_del", "orig")
}
