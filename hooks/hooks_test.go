package hooks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// script writes an executable shell script named name into dir.
func script(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func newHooks(t *testing.T, cfg Config) (*Hooks, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	cfg.Logger = zap.New(core)
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h, logs
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestOrder(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(t.TempDir(), "trace")
	for _, name := range []string{"doppel-on-startup-b", "gh-ost-on-startup--mail", "doppel-on-startup", "gh-ost-on-startup", "gh-ost-on-status", "doppel-on-success", "on-startup"} {
		script(t, dir, name, `echo "$(basename "$0")" >> "`+trace+`"`)
	}
	if err := os.Mkdir(filepath.Join(dir, "gh-ost-on-startup.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	h, _ := newHooks(t, Config{Dir: dir})
	if err := h.Run(context.Background(), OnStartup, Vars{}); err != nil {
		t.Fatal(err)
	}
	want := "gh-ost-on-startup gh-ost-on-startup--mail doppel-on-startup doppel-on-startup-b"
	if got := strings.Join(readLines(t, trace), " "); got != want {
		t.Errorf("ran %q, want %q", got, want)
	}
	// An event without hooks runs nothing.
	if err := h.Run(context.Background(), OnBeforeCutOver, Vars{}); err != nil {
		t.Fatal(err)
	}
	if got := len(readLines(t, trace)); got != 4 {
		t.Errorf("%d hooks ran in all, want 4", got)
	}
}

func TestVariables(t *testing.T) {
	dir := t.TempDir()
	out := t.TempDir()
	events := []Event{OnStatus, OnInteractiveCommand, OnBeforeCutOver, OnBatchCopyRetry, OnSuccess}
	for _, event := range events {
		script(t, dir, "gh-ost-on-"+string(event), `env | grep -E '^(GH_OST|DOPPEL)_' | sort > "`+filepath.Join(out, string(event))+`"`)
	}
	t.Setenv("DOPPEL_TEST_INHERITED", "kept")
	script(t, dir, "doppel-on-before-cut-over", `echo "$DOPPEL_TEST_INHERITED" > "`+filepath.Join(out, "inherited")+`"`)
	h, _ := newHooks(t, Config{Dir: dir})
	vars := Vars{
		DatabaseName: "shop", TableName: "orders", GhostTableName: "_orders_gho", OldTableName: "_orders_del",
		DDL: "ADD COLUMN note TEXT", Elapsed: 90500 * time.Millisecond, ElapsedCopy: 60 * time.Second,
		EstimatedRows: 1000, CopiedRows: 500, InspectedLag: 250 * time.Millisecond, HeartbeatLag: 1500 * time.Millisecond,
		Progress: 50, ETA: 61 * time.Second, MigratedHost: "db1:3306", InspectedHost: "db2:3306", ExecutingHost: "ops1",
		HooksHint: "ticket 42", HooksHintOwner: "alice", HooksHintToken: "t0k", Command: "throttle", Status: "Copy: 500/1000 50.0%",
		LastCopyError: "Error 1205: Lock wait timeout exceeded", InstantDDL: true, Revert: true,
	}
	for _, event := range events {
		if err := h.Run(context.Background(), event, vars); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{
		"DATABASE_NAME": "shop", "TABLE_NAME": "orders", "GHOST_TABLE_NAME": "_orders_gho", "OLD_TABLE_NAME": "_orders_del",
		"DDL": "ADD COLUMN note TEXT", "ELAPSED_SECONDS": "90.500000", "ELAPSED_COPY_SECONDS": "60.000000",
		"ESTIMATED_ROWS": "1000", "COPIED_ROWS": "500", "INSPECTED_LAG": "0.250000", "HEARTBEAT_LAG": "1.500000",
		"PROGRESS": "50.000000", "ETA_SECONDS": "61", "MIGRATED_HOST": "db1:3306", "INSPECTED_HOST": "db2:3306",
		"EXECUTING_HOST": "ops1", "HOOKS_HINT": "ticket 42", "HOOKS_HINT_OWNER": "alice", "HOOKS_HINT_TOKEN": "t0k",
		"DRY_RUN": "false", "REVERT": "true",
	}
	for _, event := range events {
		got := map[string]string{}
		for _, line := range readLines(t, filepath.Join(out, string(event))) {
			k, v, _ := strings.Cut(line, "=")
			got[k] = v
		}
		expect := map[string]string{}
		for k, v := range want {
			expect[k] = v
		}
		switch event {
		case OnStatus:
			expect["STATUS"] = "Copy: 500/1000 50.0%"
		case OnInteractiveCommand:
			expect["COMMAND"] = "throttle"
		case OnBatchCopyRetry:
			expect["LAST_BATCH_COPY_ERROR"] = "Error 1205: Lock wait timeout exceeded"
		case OnSuccess:
			expect["INSTANT_DDL"] = "true"
		}
		for k, v := range expect {
			for _, prefix := range []string{"GH_OST_", "DOPPEL_"} {
				if got[prefix+k] != v {
					t.Errorf("%s: %s%s = %q, want %q", event, prefix, k, got[prefix+k], v)
				}
			}
		}
		// Nothing more, apart from what the test's own environment passes on (DOPPEL_TEST_INHERITED,
		// and any DOPPEL_* the person running the tests has set, such as DOPPEL_MYSQLD).
		for k := range got {
			_, inherited := os.LookupEnv(k)
			if _, ok := expect[strings.TrimPrefix(strings.TrimPrefix(k, "GH_OST_"), "DOPPEL_")]; !ok && !inherited {
				t.Errorf("%s: unexpected variable %s=%q", event, k, got[k])
			}
		}
	}
	if got := readLines(t, filepath.Join(out, "inherited")); got[0] != "kept" {
		t.Errorf("the process environment was not passed on: %q", got)
	}

	// An unknown ETA is -1.
	script(t, dir, "gh-ost-on-success", `echo "$GH_OST_ETA_SECONDS $DOPPEL_DRY_RUN" > "`+filepath.Join(out, "eta")+`"`)
	if err := h.Run(context.Background(), OnSuccess, Vars{ETA: -1, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if got := readLines(t, filepath.Join(out, "eta"))[0]; got != "-1 true" {
		t.Errorf("unknown ETA and dry run: %q", got)
	}
}

func TestFailureStopsTheRest(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(t.TempDir(), "trace")
	script(t, dir, "gh-ost-on-before-cut-over", `echo checking; echo "deploy freeze until 18:00" >&2; exit 3`)
	script(t, dir, "doppel-on-before-cut-over", `echo ran > "`+trace+`"`)
	h, logs := newHooks(t, Config{Dir: dir})
	err := h.Run(context.Background(), OnBeforeCutOver, Vars{})
	if err == nil {
		t.Fatal("a failing hook did not fail Run")
	}
	if want := "hook gh-ost-on-before-cut-over failed: exit status 3: deploy freeze until 18:00"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if _, err := os.Stat(trace); !errors.Is(err, os.ErrNotExist) {
		t.Error("the hook after the failing one ran")
	}
	failed := logs.FilterMessage("hook failed").All()
	if len(failed) != 1 || !strings.Contains(failed[0].ContextMap()["output"].(string), "checking\n") {
		t.Errorf("the hook's output is not in the log: %v", failed)
	}
}

func TestOutputIsLogged(t *testing.T) {
	dir := t.TempDir()
	script(t, dir, "gh-ost-on-success", `echo "migrated $GH_OST_TABLE_NAME"`)
	h, logs := newHooks(t, Config{Dir: dir})
	if err := h.Run(context.Background(), OnSuccess, Vars{TableName: "orders"}); err != nil {
		t.Fatal(err)
	}
	ran := logs.FilterMessage("hook ran").All()
	if len(ran) != 1 {
		t.Fatalf("%d log entries for the hook", len(ran))
	}
	fields := ran[0].ContextMap()
	if fields["hook"] != "gh-ost-on-success" || fields["event"] != "success" || fields["output"] != "migrated orders\n" {
		t.Errorf("log fields %v", fields)
	}
}

func TestNotExecutableIsSkippedWithWarning(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(t.TempDir(), "trace")
	if err := os.WriteFile(filepath.Join(dir, "gh-ost-on-startup"), []byte("#!/bin/sh\necho bad > "+trace+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script(t, dir, "doppel-on-startup", `echo good > "`+trace+`"`)
	h, logs := newHooks(t, Config{Dir: dir})
	if err := h.Run(context.Background(), OnStartup, Vars{}); err != nil {
		t.Fatal(err)
	}
	if got := readLines(t, trace); got[0] != "good" {
		t.Errorf("ran %q", got)
	}
	warned := logs.FilterMessage("skipping a hook that is not executable; chmod +x it to run it").All()
	if len(warned) != 1 || !strings.HasSuffix(warned[0].ContextMap()["hook"].(string), "gh-ost-on-startup") {
		t.Errorf("warnings: %v", logs.All())
	}
}

func TestDirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	if _, err := New(Config{Dir: missing}); err == nil || !strings.Contains(err.Error(), "--hooks-path") {
		t.Errorf("New with a missing directory = %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Dir: file}); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("New with a file = %v", err)
	}

	// No directory: nothing runs, nothing fails.
	h, _ := newHooks(t, Config{})
	if err := h.Run(context.Background(), OnStartup, Vars{}); err != nil {
		t.Fatal(err)
	}
	if err := h.Run(context.Background(), Event("on-lunch"), Vars{}); err == nil {
		t.Error("an unknown event was accepted")
	}

	// A directory removed while the migration runs is an error, not a silent skip.
	dir := filepath.Join(t.TempDir(), "hooks")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h, _ = newHooks(t, Config{Dir: dir})
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	if err := h.Run(context.Background(), OnBeforeCutOver, Vars{}); err == nil || !strings.Contains(err.Error(), "reading the hooks directory") {
		t.Errorf("Run with the directory gone = %v", err)
	}
}

// A hook past its timeout is killed with the processes it started, so Run returns promptly.
func TestTimeoutKillsTheHookAndItsChildren(t *testing.T) {
	dir := t.TempDir()
	script(t, dir, "gh-ost-on-before-cut-over", "sleep 30\necho never")
	h, _ := newHooks(t, Config{Dir: dir, Timeout: 300 * time.Millisecond})
	begin := time.Now()
	err := h.Run(context.Background(), OnBeforeCutOver, Vars{})
	if err == nil || err.Error() != "hook gh-ost-on-before-cut-over did not finish within 300ms and was killed" {
		t.Errorf("Run = %v", err)
	}
	if took := time.Since(begin); took > 900*time.Millisecond {
		t.Errorf("Run returned after %s: the hook's child outlived it", took)
	}
}

func TestCancelStopsTheHook(t *testing.T) {
	dir := t.TempDir()
	script(t, dir, "gh-ost-on-failure", "sleep 30")
	h, _ := newHooks(t, Config{Dir: dir})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := h.Run(ctx, OnFailure, Vars{})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "hook gh-ost-on-failure stopped") {
		t.Errorf("Run with an ending context = %v", err)
	}
}

func TestOutputIsCapped(t *testing.T) {
	var c capped
	chunk := strings.Repeat("x", 1000)
	for range 100 {
		if n, err := c.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if c.Len() != maxOutput || !strings.HasSuffix(c.String(), "[output cut]") {
		t.Errorf("kept %d bytes", c.Len())
	}
}
