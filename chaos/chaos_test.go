package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestShortSchedule is make test's share of the chaos runner: three runs of fixed seeds, each with
// its faults, must migrate with the oracle equal and no row lost or wrong. make chaos runs 100.
func TestShortSchedule(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "doppel")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/doppel-sql/doppel/cmd/doppel").CombinedOutput(); err != nil {
		t.Fatalf("building doppel: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := os.CreateTemp(t.TempDir(), "chaos")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := run(ctx, options{doppel: bin, runs: 3, seed: 21, rows: 5000}, out)
	text, _ := os.ReadFile(out.Name())
	t.Logf("\n%s", text)
	if err != nil {
		t.Fatal(err)
	}
	if rep.migrated != 3 || rep.lost != 0 || rep.wrong != 0 || rep.unfinished != 0 {
		t.Errorf("%d of 3 runs migrated, %d rows lost, %d wrong", rep.migrated, rep.lost, rep.wrong)
	}
}
