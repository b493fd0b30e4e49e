package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/migration"
)

func TestProgressBar(t *testing.T) {
	var out bytes.Buffer
	b := &progressBar{w: &out}
	b.Update(migration.Progress{State: migration.StateCopying, Copied: 250, Estimated: 1000, Percent: 25, RowsPerS: 50, ETA: 15 * time.Second})
	if !strings.Contains(out.String(), "██████░") || !strings.Contains(out.String(), " 25.0%  250/1000 rows  50 rows/s  ETA 15s") {
		t.Errorf("bar: %q", out.String())
	}
	out.Reset()
	if _, err := b.Write([]byte("a log line\n")); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasPrefix(got, "\r\033[Ka log line\n") || !strings.Contains(got, "25.0%") {
		t.Errorf("a log line must clear the bar and redraw it after: %q", got)
	}
	out.Reset()
	b.Update(migration.Progress{State: migration.StateCopying, Copied: 300, Estimated: 1000, Percent: 30, Throttled: "flag-file /tmp/x exists"})
	if got := out.String(); !strings.Contains(got, "ETA unknown") || !strings.Contains(got, "throttled: flag-file") {
		t.Errorf("throttled bar must say so and have no ETA: %q", got)
	}
	out.Reset()
	b.Close()
	if out.String() != "\r\033[K" {
		t.Errorf("close: %q", out.String())
	}
}
