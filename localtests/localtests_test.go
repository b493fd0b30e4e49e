package localtests

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/doppel-sql/doppel/internal/sandbox"
)

// sb is the one sandbox (primary + replica) every case runs against, each in its own database.
var sb *sandbox.Sandbox

func TestMain(m *testing.M) {
	// Compressed binlog events (MariaDB) for every event of more than 10 bytes: the binlog reader
	// must decode them for every case.
	sandbox.RunTests(m, sandbox.Options{ExtraArgs: []string{"--log-bin-compress=ON", "--log-bin-compress-min-len=10"}}, &sb)
}

// maxParallel cases run at once: each runs a load, a doppel and checks on a 2-core machine that
// also hosts both servers; more would make timing, not doppel, decide the outcome.
const maxParallel = 2

// TestLocal runs every case directory under localtests/.
func TestLocal(t *testing.T) {
	fixtures, err := loadFixtures(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(fixtures) == 0 {
		t.Fatal("no case directories found")
	}
	bin := buildDoppel(t)
	sem := make(chan struct{}, maxParallel)
	for i, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			defer func() { <-sem }()
			// Each case's binlog stream registers with its own server id: two streams with one id
			// on one server disconnect each other.
			newCase(t, bin, f, uint32(2000+i)).run()
		})
	}
}

// buildDoppel builds the doppel command into a temporary directory that is removed with the test;
// $DOPPEL_BIN, when set, names a binary to test instead (a release build, or a patched one).
func buildDoppel(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("DOPPEL_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "doppel")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/doppel-sql/doppel/cmd/doppel").CombinedOutput()
	if err != nil {
		t.Fatalf("building doppel: %v\n%s", err, out)
	}
	return bin
}

// A fixture is one case directory.
type fixture struct {
	name string
	// compareKey, set by Go tests, are the columns the result is compared with the oracle by, for
	// a table without a unique key of NOT NULL columns.
	compareKey []string
	// create is create.sql: it creates the table and whatever else the case needs.
	create string
	// table is the table doppel migrates: the file table, else "t".
	table string
	// alter is the --alter text, from the file alter or the last --alter= of extra_args; it is also
	// applied natively to the oracle.
	alter string
	// args are extra_args, one doppel flag per line; alter, when given as a file, comes first.
	args []string
	// expectFailure, when set, holds texts (one a line) doppel's output must contain, and the run
	// must fail.
	expectFailure []string
	// timeZone, from load_time_zone, is the session time_zone of the load.
	timeZone string
	// loadRate, from load_rate, is the load's transactions per second when not loadRate.
	loadRate int
	// noWrite, from no_write, are columns the load leaves alone (one per line): columns whose values
	// a native ALTER does not keep, such as one dropped and added again.
	noWrite []string
	// oracleDefaults, from oracle_defaults, are columns set to their DEFAULT in the oracle after its
	// native ALTER (one per line): with --skip-renamed-columns a renamed column starts from its
	// default, while the native ALTER carries its values over.
	oracleDefaults []string
	// numbered, from numbered, are AUTO_INCREMENT columns the ALTER adds (one per line): the ghost
	// numbers rows as they arrive, so their values are compared by rule (every row numbered, no
	// number twice) instead of with the native ALTER's.
	numbered []string
	// planDiffers, from plan_differs, says why doppel plan does not refuse what this failing case
	// refuses (the server's setup, the flags of a run); without it plan must refuse it too, in
	// the same words.
	planDiffers string
}

// newFixture is a case written in Go rather than as a directory: table t, made by create, altered
// by alter, with more doppel flags extra.
func newFixture(name, create, alter string, extra ...string) *fixture {
	return &fixture{name: name, create: create, table: "t", alter: alter, args: append([]string{"--alter=" + alter}, extra...)}
}

// loadFixtures reads every directory under root that holds a create.sql.
func loadFixtures(root string) ([]*fixture, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var out []*fixture
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if _, err := os.Stat(filepath.Join(dir, "create.sql")); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		f, err := readFixture(dir)
		if err != nil {
			return nil, fmt.Errorf("case %s: %w", e.Name(), err)
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func readFixture(dir string) (*fixture, error) {
	f := &fixture{name: filepath.Base(dir), table: "t"}
	var err error
	read := func(name string) (string, bool) {
		b, rerr := os.ReadFile(filepath.Join(dir, name))
		if rerr != nil {
			if !errors.Is(rerr, fs.ErrNotExist) && err == nil {
				err = rerr
			}
			return "", false
		}
		return string(b), true
	}
	create, ok := read("create.sql")
	if !ok {
		return nil, errors.New("no create.sql")
	}
	f.create = create
	if s, ok := read("table"); ok {
		f.table = strings.TrimRight(s, "\r\n")
	}
	if s, ok := read("alter"); ok {
		f.alter = strings.TrimSpace(s)
		f.args = append(f.args, "--alter="+f.alter)
	}
	if s, ok := read("extra_args"); ok {
		for _, arg := range lines(s) {
			f.args = append(f.args, arg)
			if v, ok := flagValue(arg, "alter"); ok {
				f.alter = v
			}
		}
	}
	if s, ok := read("expect_failure"); ok {
		f.expectFailure = lines(s)
	}
	if s, ok := read("load_time_zone"); ok {
		f.timeZone = strings.TrimSpace(s)
	}
	if s, ok := read("load_rate"); ok {
		rate, perr := strconv.Atoi(firstLine(s))
		if perr != nil || rate <= 0 {
			return nil, fmt.Errorf("load_rate: want a positive number of transactions per second, got %q", s)
		}
		f.loadRate = rate
	}
	if s, ok := read("no_write"); ok {
		f.noWrite = lines(s)
	}
	if s, ok := read("oracle_defaults"); ok {
		f.oracleDefaults = lines(s)
	}
	if s, ok := read("numbered"); ok {
		f.numbered = lines(s)
	}
	if s, ok := read("plan_differs"); ok {
		f.planDiffers = strings.TrimSpace(s)
	}
	if err != nil {
		return nil, err
	}
	if f.alter == "" && len(f.expectFailure) == 0 {
		return nil, errors.New("a case that must succeed needs an alter file or --alter= in extra_args")
	}
	return f, nil
}

// lines returns the non-empty lines of s that are not # comments, trimmed of surrounding space.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// firstLine is the first of lines(s), or "" when there is none.
func firstLine(s string) string {
	if l := lines(s); len(l) > 0 {
		return l[0]
	}
	return ""
}

// flagValue returns the value of --name=value (or -name=value) in arg.
func flagValue(arg, name string) (string, bool) {
	for _, prefix := range []string{"--" + name + "=", "-" + name + "="} {
		if v, ok := strings.CutPrefix(arg, prefix); ok {
			return v, true
		}
	}
	return "", false
}

// hasFlag reports whether args turn on the boolean flag name.
func hasFlag(args []string, name string) bool {
	on := false
	for _, a := range args {
		switch a {
		case "--" + name, "-" + name, "--" + name + "=true", "-" + name + "=true":
			on = true
		case "--" + name + "=false", "-" + name + "=false":
			on = false
		}
	}
	return on
}
