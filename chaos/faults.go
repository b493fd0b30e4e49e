package main

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/doppel-sql/doppel/internal/sandbox"
)

// A fault is one disturbance at a moment of the run.
type fault struct {
	name string
	at   time.Duration // after the first attempt starts
	do   func(ctx context.Context, r *chaosRun) error
}

// kinds are the faults drawn from; each has its name, for the report.
var kinds = []struct {
	name string
	do   func(ctx context.Context, r *chaosRun) error
}{
	{"doppel SIGKILL, then --resume", func(_ context.Context, r *chaosRun) error {
		r.signal(syscall.SIGKILL)
		return nil
	}},
	{"doppel SIGSTOP 6s, SIGCONT", func(ctx context.Context, r *chaosRun) error {
		if !r.signal(syscall.SIGSTOP) {
			return nil
		}
		sleep(ctx, 6*time.Second) // longer than the lock timeouts (2 s) and the heartbeat's lag limit
		r.signal(syscall.SIGCONT)
		return nil
	}},
	{"primary restart", func(ctx context.Context, r *chaosRun) error { return r.sb.Primary.Restart(ctx) }},
	{"replica restart", func(ctx context.Context, r *chaosRun) error {
		if err := r.sb.Replica.Restart(ctx); err != nil {
			return err
		}
		return onReplica(ctx, r.sb, "START SLAVE")
	}},
	{"replica SQL thread stopped 3s", func(ctx context.Context, r *chaosRun) error {
		return pauseThread(ctx, r.sb, "SQL_THREAD")
	}},
	{"replica IO thread stopped 3s", func(ctx context.Context, r *chaosRun) error {
		return pauseThread(ctx, r.sb, "IO_THREAD")
	}},
	{"doppel's connections killed", func(ctx context.Context, r *chaosRun) error {
		for _, s := range []*sandbox.Server{r.sb.Primary, r.sb.Replica} {
			if err := killConnections(ctx, s, ""); err != nil {
				return err
			}
		}
		return nil
	}},
	{"binlog dump killed", func(ctx context.Context, r *chaosRun) error {
		return killConnections(ctx, r.sb.Replica, "Binlog Dump")
	}},
	{"FLUSH BINARY LOGS storm", func(ctx context.Context, r *chaosRun) error {
		for range 10 {
			for _, s := range []*sandbox.Server{r.sb.Primary, r.sb.Replica} {
				if err := execOn(ctx, s, "FLUSH BINARY LOGS"); err != nil {
					return err
				}
			}
			sleep(ctx, 100*time.Millisecond)
		}
		return nil
	}},
	{"network reset to the replica", func(_ context.Context, r *chaosRun) error { r.toReplica.reset(); return nil }},
	{"network reset to the primary", func(_ context.Context, r *chaosRun) error { r.toPrimary.reset(); return nil }},
	{"network stalled 5s to the primary", func(ctx context.Context, r *chaosRun) error { r.toPrimary.stall(ctx, 5*time.Second); return nil }},
	{"network stalled 5s to the replica", func(ctx context.Context, r *chaosRun) error { r.toReplica.stall(ctx, 5*time.Second); return nil }},
	{"network black hole 5s to the replica", func(ctx context.Context, r *chaosRun) error {
		r.toReplica.blackHole(ctx, 5*time.Second)
		return nil
	}},
	{"network black hole 5s to the primary", func(ctx context.Context, r *chaosRun) error {
		r.toPrimary.blackHole(ctx, 5*time.Second)
		return nil
	}},
	{"rows locked 5s", func(ctx context.Context, r *chaosRun) error {
		db, err := r.sb.Primary.DB(r.schema)
		if err != nil {
			return err
		}
		defer db.Close()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		// Locks rows the copy and the load want, and holds the table's metadata lock, which the
		// cut-over's LOCK TABLES then waits for past its timeout.
		rows, err := tx.QueryContext(ctx, "SELECT k1 FROM t ORDER BY k1, k2 LIMIT 30 FOR UPDATE")
		if err != nil {
			return err
		}
		rows.Close()
		sleep(ctx, 5*time.Second)
		return tx.Commit()
	}},
}

// schedule draws one to three faults, in kind and moment (up to 5 s into the first attempt: the
// copy, the replay, the verification and the swap all happen in that span for the table's size).
func (r *chaosRun) schedule() []fault {
	n := 1 + r.rng.IntN(3)
	out := make([]fault, n)
	for i := range out {
		k := kinds[r.rng.IntN(len(kinds))]
		out[i] = fault{name: k.name, at: time.Duration(200+r.rng.IntN(4800)) * time.Millisecond, do: k.do}
	}
	return out
}

// inject runs the faults at their moments, each in its own goroutine, and returns when all are done,
// with the names of those that struck while a doppel ran (the others came after the migration).
func (r *chaosRun) inject(ctx context.Context, plan []fault) (struck []string) {
	start := time.Now()
	done := make(chan struct{}, len(plan))
	var mu sync.Mutex
	for _, f := range plan {
		go func() {
			defer func() { done <- struct{}{} }()
			sleep(ctx, time.Until(start.Add(f.at)))
			if r.running() {
				mu.Lock()
				struck = append(struck, f.name)
				mu.Unlock()
			}
			if err := f.do(ctx, r); err != nil && ctx.Err() == nil {
				fmt.Printf("chaos: seed %d: %s: %v\n", r.seed, f.name, err)
			}
		}()
	}
	for range plan {
		<-done
	}
	return struck
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func execOn(ctx context.Context, s *sandbox.Server, q string) error {
	db, err := s.DB("")
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, q)
	return err
}

func onReplica(ctx context.Context, sb *sandbox.Sandbox, q string) error {
	return execOn(ctx, sb.Replica, q)
}

func pauseThread(ctx context.Context, sb *sandbox.Sandbox, thread string) error {
	if err := onReplica(ctx, sb, "STOP SLAVE "+thread); err != nil {
		return err
	}
	sleep(ctx, 3*time.Second)
	return onReplica(ctx, sb, "START SLAVE "+thread)
}

// killConnections kills doppel's sessions on s: all of them, or those running command.
func killConnections(ctx context.Context, s *sandbox.Server, command string) error {
	db, err := s.DB("")
	if err != nil {
		return err
	}
	defer db.Close()
	q := "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?"
	args := []any{doppelUser}
	if command != "" {
		q += " AND COMMAND = ?"
		args = append(args, command)
	}
	ids, err := queryIDs(ctx, db, q, args...)
	if err != nil {
		return err
	}
	for _, id := range ids {
		_, _ = db.ExecContext(ctx, fmt.Sprintf("KILL %d", id)) // it may have ended meanwhile
	}
	return nil
}

func queryIDs(ctx context.Context, db *sql.DB, q string, args ...any) ([]int64, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
