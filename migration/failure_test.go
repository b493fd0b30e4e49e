package migration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/internal/cutover"
)

// TestDataErrorIsNotResumable: a change the application makes during the migration that the new
// definition refuses (NULL into a column made NOT NULL) stops the run. A --resume would replay the
// same change and fail again, so doppel says what to fix and drops its tables instead of advising
// --resume, although a checkpoint had been written.
func TestDataErrorIsNotResumable(t *testing.T) {
	name, db := newTable(t, 5000)
	cfg := testConfig(name, "MODIFY n INT NOT NULL")
	cfg.ChunkSize = 10
	cfg.CheckpointInterval = 50 * time.Millisecond
	var once sync.Once
	var injected error
	cfg.Failpoint = func(step string) {
		if step != "copy:chunk" {
			return
		}
		once.Do(func() {
			injected = errors.New("no checkpoint was written")
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				var n int
				if db.QueryRow("SELECT COUNT(*) FROM _t_ghc WHERE hint = 'checkpoint'").Scan(&n) == nil && n == 1 {
					// Above the copy's range: only the replay meets it.
					_, injected = db.Exec("INSERT INTO t VALUES (100000, 'late', NULL)")
					return
				}
			}
		})
	}
	_, err := Run(context.Background(), cfg)
	if injected != nil {
		t.Fatal(injected)
	}
	if err == nil {
		t.Fatal("the migration succeeded over a NULL in a column made NOT NULL")
	}
	for _, want := range []string{"error 1048: NULL into a NOT NULL column", "A --resume would meet the same row and fail the same way, so doppel dropped the tables it created",
		fmt.Sprintf("Fix the rows of `%s`.`t`", name)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	t.Log(err)
	if strings.Contains(err.Error(), "with --resume to continue") {
		t.Errorf("a data error advises --resume:\n%v", err)
	}
	if IsRefusal(err) || !Untouched(err) || Swapped(err) {
		t.Errorf("refusal %v, untouched %v, swapped %v; want a failure that left the original untouched", IsRefusal(err), Untouched(err), Swapped(err))
	}
	if got := tableList(t, db); got != "t" {
		t.Errorf("tables %q, want t alone", got)
	}
}

// TestSwappedOnServer: after a cut-over error, the tables themselves say whether the RENAME ran.
func TestSwappedOnServer(t *testing.T) {
	name, db := newTable(t, 0)
	primary, err := sb.Primary.DB(name)
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close()
	cfg := testConfig(name, "ADD COLUMN x INT")
	r := &run{cfg: &cfg, s: &servers{primary: primary}, p: &validated{names: namesFor("t")}}
	ctx := context.Background()
	for _, step := range []struct {
		sql     []string
		swapped bool
		err     string
	}{
		{[]string{"CREATE TABLE _t_gho LIKE t"}, false, ""},
		{[]string{fmt.Sprintf("CREATE TABLE _t_del (id INT PRIMARY KEY) COMMENT='%s'", cutover.SentryComment)}, false, ""},
		// The sentry without a ghost: neither state the cut-over leaves.
		{[]string{"DROP TABLE _t_gho"}, false, "neither _t_gho nor a moved original table _t_del exists"},
		{[]string{"DROP TABLE _t_del", "CREATE TABLE _t_gho LIKE t", "RENAME TABLE t TO _t_del, _t_gho TO t"}, true, ""},
	} {
		exec(t, db, step.sql...)
		swapped, err := r.swappedOnServer(ctx)
		if step.err != "" {
			if err == nil || !strings.Contains(err.Error(), step.err) {
				t.Errorf("after %q: %v, %v; want an error with %q", step.sql, swapped, err, step.err)
			}
			continue
		}
		if err != nil || swapped != step.swapped {
			t.Errorf("after %q: swapped %v, %v; want %v", step.sql, swapped, err, step.swapped)
		}
	}
}

func TestUntouched(t *testing.T) {
	plain := errors.New("copying chunk 3: lost connection")
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"a failure before the swap", plain, true},
		{"interrupted", fmt.Errorf("interrupted: %w", plain), true},
		{"refused", refuse("bad"), true},
		{"swapped", &swappedError{plain}, false},
		{"swap unknown", &unsureError{plain}, false},
		{"changed by someone else", fmt.Errorf("another session changed it: %w", errTableChanged), false},
		{"no error", nil, false},
	} {
		if got := Untouched(tc.err); got != tc.want {
			t.Errorf("%s: Untouched = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestFailedDuringCutOver: after a cut-over error, what doppel says and drops follows the tables,
// not the error: a RENAME can complete on the server while doppel loses its connection.
func TestFailedDuringCutOver(t *testing.T) {
	cutErr := errors.New("renaming the tables: invalid connection")
	for _, tc := range []struct {
		name    string
		setup   []string
		check   func(error) bool
		after   string // the tables left
		message string
	}{
		{"nothing renamed", []string{"CREATE TABLE _t_gho LIKE t"}, Untouched, "t", "invalid connection"},
		{"renamed", []string{"CREATE TABLE _t_gho LIKE t", "RENAME TABLE t TO _t_del, _t_gho TO t"}, Swapped, "_t_del,t", "invalid connection"},
		{"cannot tell", []string{fmt.Sprintf("CREATE TABLE _t_del (id INT PRIMARY KEY) COMMENT='%s'", cutover.SentryComment)},
			func(err error) bool { return !Untouched(err) && !Swapped(err) }, "_t_del,_t_ghc,t", "doppel cannot tell whether the tables were swapped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name, db := newTable(t, 10)
			exec(t, db, "CREATE TABLE _t_ghc (id INT PRIMARY KEY)")
			exec(t, db, tc.setup...)
			cfg := testConfig(name, "ADD COLUMN x INT")
			if err := cfg.Check(); err != nil {
				t.Fatal(err)
			}
			r := &run{cfg: &cfg, s: &servers{primary: db}, p: &validated{names: namesFor("t")}, created: []string{"_t_ghc", "_t_gho"}}
			r.state.set(StateCuttingOver)
			err := r.failed(context.Background(), cutErr)
			if !errors.Is(err, cutErr) || !tc.check(err) || !strings.Contains(err.Error(), tc.message) {
				t.Errorf("failed() = %v (untouched %v, swapped %v)", err, Untouched(err), Swapped(err))
			}
			if got := tableList(t, db); got != tc.after {
				t.Errorf("tables %q, want %q", got, tc.after)
			}
		})
	}
}
