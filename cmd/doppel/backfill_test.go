package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBackfillCommand runs `doppel backfill` against the sandbox: the dry run counts and changes
// nothing, --execute runs it, a statement it cannot chunk is refused (exit 1) and a bad flag is a
// bad command line (exit 2).
func TestBackfillCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbName, db := newDatabase(ctx, t,
		"CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, total DECIMAL(10,2) NOT NULL, total_cents BIGINT NULL)",
		"INSERT INTO orders (id, total) SELECT seq, seq / 4 FROM seq_1_to_5000",
	)
	p := sb.Primary.Config()
	backfill := func(extra ...string) (int, string, string) {
		args := append([]string{"backfill", "--host=" + p.Host, fmt.Sprintf("--port=%d", p.Port), "--user=root",
			"--database=" + dbName, "--throttle-additional-flag-file=", "--serve-socket-file=" + filepath.Join(t.TempDir(), "b.sock")}, extra...)
		var stdout, stderr bytes.Buffer
		code := run(ctx, args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	const fill = "--sql=UPDATE orders SET total_cents = ROUND(total * 100) WHERE total_cents IS NULL AND id > 1000"
	code, out, errOut := backfill(fill)
	if code != 0 || !strings.Contains(out, "4000 rows would be touched") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM orders WHERE total_cents IS NOT NULL").Scan(&n); err != nil || n != 0 {
		t.Fatalf("the dry run filled %d rows (%v)", n, err)
	}
	code, out, errOut = backfill(fill, "--execute", "--chunk-size=500")
	if code != 0 || !strings.Contains(out, "4000 affected") {
		t.Fatalf("--execute: exit %d\n%s\n%s", code, out, errOut)
	}
	if err := db.QueryRow("SELECT COUNT(*) FROM orders WHERE total_cents = ROUND(total * 100)").Scan(&n); err != nil || n != 4000 {
		t.Fatalf("filled %d rows (%v), want 4000", n, err)
	}
	if code, _, errOut = backfill("--sql=UPDATE orders SET total_cents = 1 LIMIT 10", "--execute"); code != 1 || !strings.Contains(errOut, "LIMIT") {
		t.Errorf("a LIMIT: exit %d, %s", code, errOut)
	}
	if code, _, errOut = backfill(fill, "--chunk-size=5"); code != 2 || !strings.Contains(errOut, "--chunk-size 5 is out of range") {
		t.Errorf("--chunk-size=5: exit %d, %s", code, errOut)
	}
}
