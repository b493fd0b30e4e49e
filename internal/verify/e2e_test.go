package verify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/applier"
	"github.com/doppel-sql/doppel/internal/binlog"
	"github.com/doppel-sql/doppel/internal/changelog"
	"github.com/doppel-sql/doppel/internal/copier"
	"github.com/doppel-sql/doppel/table"
)

// writer changes random rows of the original until stop ends: inserts, updates (NULLs, key
// changes) and deletes, as an application would. Each statement runs under ctx, not stop: a
// statement cancelled half way may still commit on the server after the writer has returned, and
// the final comparison would race it.
func writer(ctx, stop context.Context, db *sql.DB, seed uint64, ops *atomic.Int64) error {
	rnd := rand.New(rand.NewPCG(seed, seed))
	for stop.Err() == nil {
		id := 1 + rnd.IntN(20000)
		var q string
		var args []any
		switch rnd.IntN(6) {
		case 0:
			q, args = "INSERT INTO t (a, n, d, ts) VALUES (?, ?, ?, NOW(6))", []any{fmt.Sprintf("ins é %d", rnd.IntN(1000)), rnd.IntN(100), "1.2345"}
		case 1:
			q, args = "UPDATE t SET a = NULL, n = n + 1 WHERE id = ?", []any{id}
		case 2:
			q, args = "UPDATE t SET a = CONCAT('upd ü ', ?), d = d + 0.0005, ts = NOW(6) WHERE id = ?", []any{rnd.IntN(1000), id}
		case 3:
			q, args = "DELETE FROM t WHERE id = ?", []any{id}
		case 4:
			// A key change: the replay deletes the old key and writes the new one.
			q, args = "UPDATE t SET id = id + 1000000 WHERE id = ?", []any{id}
		default:
			q, args = "UPDATE t SET n = NULL, a = '' WHERE id BETWEEN ? AND ? + 20", []any{id, id}
		}
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if dbconn.IsRetryable(err) || dbconn.ErrorNumber(err) == dbconn.ErrDupEntry {
				continue // as an application would: a key change may collide
			}
			return err
		}
		ops.Add(1)
	}
	return nil
}

// TestVerifyUnderWrites runs the real pipeline — binlog stream, apply loop, copier — with the
// application writing throughout, and verifies while the writes go on. Every chunk is compared
// while the original and the replay keep changing both tables, so only a consistent point makes
// them agree: any chunk found different would be a false mismatch (a race, not a wrong copy), and
// the test requires none, except where it damaged the ghost itself. Afterwards the writes stop and an independent row-by-row comparison
// confirms the ghost is right.
func TestVerifyUnderWrites(t *testing.T) {
	ctx := testCtx(t)
	schema := sb.NewDatabase(t)
	db, err := sb.Primary.DB(schema)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec(t, db,
		"CREATE TABLE t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, a VARCHAR(40) CHARACTER SET latin1 NULL, n INT NULL, d DECIMAL(10,4) NOT NULL, ts DATETIME(6) NULL)",
		"INSERT INTO t SELECT seq, CONCAT('row ', seq), seq % 100, seq / 7, '2024-01-01' + INTERVAL seq SECOND FROM seq_1_to_20000",
		"CREATE TABLE _t_gho LIKE t",
		"ALTER TABLE _t_gho MODIFY a VARCHAR(60) CHARACTER SET utf8mb4 NULL, MODIFY n BIGINT NULL, MODIFY d DECIMAL(12,3) NOT NULL, MODIFY ts DATETIME(3) NULL",
	)
	log := changelog.New(schema, "_t_ghc")
	if err := log.Create(ctx, db); err != nil {
		t.Fatal(err)
	}
	orig, err := table.Inspect(ctx, db, schema, "t")
	if err != nil {
		t.Fatal(err)
	}
	ghost, err := table.Inspect(ctx, db, schema, "_t_gho")
	if err != nil {
		t.Fatal(err)
	}
	mapping := table.MapColumns(orig, ghost, nil)
	key, err := table.ChooseKey(orig, ghost, mapping)
	if err != nil {
		t.Fatal(err)
	}
	pos, err := dbconn.ReadBinlogStatus(ctx, db, sb.Flavor)
	if err != nil {
		t.Fatal(err)
	}
	conn := sb.Primary.Config()
	reader, err := binlog.NewReader(binlog.Config{Flavor: sb.Flavor.Name(), ServerID: 4242, Host: conn.Host, Port: conn.Port, User: conn.User,
		Password: conn.Password, Database: schema, Tables: []string{"t", "_t_ghc"}})
	if err != nil {
		t.Fatal(err)
	}
	m := changelog.NewMarkers(log, db)
	onOther := func(ch binlog.Change) error {
		if hint, value, ok := log.Decode(ch); ok && hint == changelog.HintMarker {
			m.Seen(value)
		}
		return nil
	}
	var batch atomic.Int64
	batch.Store(100)
	apply, err := applier.New(applier.Config{DB: db, Orig: orig, Ghost: ghost, Key: key, Mapping: mapping, BatchSize: &batch, Retries: 10, OnOther: onOther})
	if err != nil {
		t.Fatal(err)
	}

	pipeCtx, stopPipe := context.WithCancel(ctx)
	pipe, pctx := errgroup.WithContext(pipeCtx)
	txns := make(chan binlog.Txn, 64)
	pipe.Go(func() error { return reader.Run(pctx, binlog.Position{File: pos.File, Pos: uint32(pos.Pos)}, txns) })
	pipe.Go(func() error { return apply.Run(pctx, txns) })
	defer func() {
		stopPipe()
		if err := pipe.Wait(); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("pipeline: %v", err)
		}
	}()

	writeCtx, stopWrites := context.WithCancel(pctx)
	writes, wctx := errgroup.WithContext(pctx)
	var ops atomic.Int64
	for i := range 3 {
		writes.Go(func() error { return writer(wctx, writeCtx, db, uint64(i+1), &ops) })
	}
	defer func() {
		stopWrites()
		_ = writes.Wait() // checked below when the test gets there
	}()

	var size atomic.Int64
	size.Store(500)
	cp, err := copier.New(copier.Config{DB: db, Orig: orig, Ghost: ghost, Key: key, Mapping: mapping, ChunkSize: &size, Workers: 2, Retries: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.Run(pctx); err != nil {
		t.Fatalf("copying: %v", err)
	}
	if err := m.CatchUp(pctx); err != nil {
		t.Fatal(err)
	}

	for round := range 3 {
		// In the middle round the ghost is damaged in three places (as a bug would), so the
		// re-copy runs under the writes too; the final comparison shows it left the ghost right.
		damaged := round == 1
		if damaged {
			exec(t, db, "UPDATE _t_gho SET n = -1 WHERE id BETWEEN 3000 AND 3020",
				"DELETE FROM _t_gho WHERE id BETWEEN 9000 AND 9020", "UPDATE _t_gho SET a = 'x' WHERE id BETWEEN 15000 AND 15020")
		}
		before := ops.Load()
		res, err := Run(pctx, Config{DB: db, Orig: orig, Ghost: ghost, Key: key, Mapping: mapping, CatchUp: m.CatchUp,
			ChunkSize: 300, Workers: 3, LockTimeout: 3 * time.Second, Retries: 3})
		during := ops.Load() - before
		if err != nil {
			t.Fatalf("round %d: verification failed under writes: %v", round, err)
		}
		switch {
		case damaged && res.Repaired == 0:
			t.Errorf("round %d: the damaged ghost was not repaired", round)
		case !damaged && res.Repaired != 0:
			t.Errorf("round %d: %d chunks found different while the copy is right: the snapshot is not consistent", round, res.Repaired)
		}
		if during < 50 {
			t.Errorf("round %d: only %d writes ran during the verification; the test proves little", round, during)
		}
		t.Logf("round %d: %d rows in %d chunks, %d repaired, %d writes meanwhile, table held %s, took %s",
			round, res.Rows, res.Chunks, res.Repaired, during, res.Locked, res.Duration)
	}

	stopWrites()
	if err := writes.Wait(); err != nil {
		t.Fatalf("writer: %v", err)
	}
	if err := m.CatchUp(pctx); err != nil {
		t.Fatal(err)
	}
	var differ, origRows, ghostRows int
	err = db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM t o LEFT JOIN _t_gho g ON g.id = o.id WHERE g.id IS NULL
			OR NOT (CAST(CONVERT(o.a USING utf8mb4) AS BINARY) <=> CAST(g.a AS BINARY)) OR NOT (o.n <=> g.n)
			OR NOT (CAST(o.d AS DECIMAL(12,3)) <=> g.d) OR NOT (CAST(o.ts AS DATETIME(3)) <=> g.ts)),
		(SELECT COUNT(*) FROM t), (SELECT COUNT(*) FROM _t_gho)`).Scan(&differ, &origRows, &ghostRows)
	if err != nil {
		t.Fatal(err)
	}
	if differ != 0 || origRows != ghostRows {
		t.Fatalf("after the writes: %d rows differ, %d rows in the original, %d in the ghost", differ, origRows, ghostRows)
	}
	t.Logf("%d writes in all; %d rows", ops.Load(), origRows)
}
