package migration

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/doppel-sql/doppel/internal/loadgen"
	"github.com/doppel-sql/doppel/table"
)

func TestBuildEstimate(t *testing.T) {
	for _, tc := range []struct {
		rows    int64
		indexes int
		want    time.Duration
	}{
		{0, 2, 0},
		{1_000_000, 2, 2600 * time.Millisecond},
		{2_000_000, 1, 2600 * time.Millisecond},
		{1_000_000_000, 3, 3900 * time.Second},
	} {
		if got := buildEstimate(tc.rows, tc.indexes); got != tc.want {
			t.Errorf("buildEstimate(%d, %d) = %s, want %s", tc.rows, tc.indexes, got, tc.want)
		}
	}
}

func TestDeferrableIndexes(t *testing.T) {
	col := []table.IndexColumn{{Name: "a"}}
	orig := &table.Table{Indexes: []table.Index{{Name: "PRIMARY", Kind: "BTREE", Unique: true, Columns: col}, {Name: "k", Kind: "BTREE", Columns: col}}}
	for _, tc := range []struct {
		name   string
		probed *table.Table
		want   int
	}{
		{"no probe: the original's", nil, 1},
		{"the probe's: plain BTREE only", &table.Table{Indexes: []table.Index{
			{Name: "PRIMARY", Kind: "BTREE", Unique: true, Columns: col},
			{Name: "k", Kind: "BTREE", Columns: col},
			{Name: "k2", Kind: "BTREE", Columns: col},
			{Name: "u", Kind: "BTREE", Unique: true, Columns: col},
			{Name: "f", Kind: "FULLTEXT", Columns: col},
			{Name: "e", Kind: "BTREE", Expression: true, Columns: col},
		}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := deferrableIndexes(tc.probed, orig); got != tc.want {
				t.Errorf("deferrableIndexes = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestTwoPhaseBuildUnderWrites: with a replica that applies in parallel the indexes are deferred
// and built in two phases while the replay is held; under writes the migrated table equals an
// oracle altered natively, and the replica's copy equals the primary's.
func TestTwoPhaseBuildUnderWrites(t *testing.T) {
	replicaParallelThreads(t, 4)
	t.Cleanup(func() { replicaParallelThreads(t, 0) })
	name, db := newTable(t, 100000)
	defer db.Close()
	const alter = "ADD COLUMN x INT NULL, ADD INDEX k_x (x, n)"
	exec(t, db, "CREATE TABLE oracle LIKE t", "INSERT INTO oracle SELECT * FROM t")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
	load, err := loadgen.New(ctx, loadgen.Config{DB: db, Schema: name, Table: "t", Oracle: "oracle", Workers: 2, Rate: 300})
	if err != nil {
		t.Fatal(err)
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	loaded := make(chan error, 1)
	go func() { loaded <- load.Run(loadCtx) }()
	core, logs := observer.New(zap.InfoLevel)
	cfg := testConfig(name, alter)
	cfg.Logger = zap.New(core)
	_, runErr := Run(ctx, cfg)
	time.Sleep(200 * time.Millisecond)
	stopLoad()
	if err := <-loaded; err != nil {
		t.Fatal(err)
	}
	if runErr != nil {
		t.Fatal(runErr)
	}
	for _, want := range []string{"logged in two phases", "deferred indexes added"} {
		if logs.FilterMessageSnippet(want).Len() != 1 {
			t.Errorf("no %q in the log", want)
		}
	}
	if st := load.Stats(); st.Committed == 0 || st.Failed > 0 || st.Divergent > 0 {
		t.Fatalf("load: %d committed, %d failed, %d divergent: %v", st.Committed, st.Failed, st.Divergent, st.Errors)
	}
	exec(t, db, "ALTER TABLE oracle "+alter)
	if err := loadgen.Compare(ctx, db, name, "t", "oracle", []string{"id"}); err != nil {
		t.Fatal(err)
	}
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
	rdb, err := sb.Replica.DB(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if got, want := checksum(t, rdb, "t"), checksum(t, db, "t"); got != want {
		t.Errorf("the replica's table differs from the primary's: checksum %s, want %s", got, want)
	}
}
