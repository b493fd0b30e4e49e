// Package hooks runs the operator's executables at points of a migration, as gh-ost does: every
// executable in --hooks-path whose name starts with gh-ost-on-<event> or doppel-on-<event>, one
// after the other, with the migration described in GH_OST_* environment variables and their
// DOPPEL_* twins. A hook that fails (exits non-zero, or runs past its timeout) is an error, which
// the migration may act on: a failing on-before-cut-over hook prevents the cut-over.
package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Event is a point of the migration at which hooks run. Its hooks are named gh-ost-on-<Event>* or
// doppel-on-<Event>*.
type Event string

// The events, in the order a migration reaches them (status and interactive-command recur).
const (
	OnStartup            Event = "startup"             // the migration starts, before validation
	OnValidated          Event = "validated"           // validation passed; nothing created yet
	OnRowCountComplete   Event = "rowcount-complete"   // the row estimate is known
	OnBeforeRowCopy      Event = "before-row-copy"     // the ghost table is ready; the copy starts next
	OnStatus             Event = "status"              // every status report; GH_OST_STATUS holds it
	OnInteractiveCommand Event = "interactive-command" // an operator command; GH_OST_COMMAND holds it
	OnBatchCopyRetry     Event = "batch-copy-retry"    // a copy chunk failed and is tried again; GH_OST_LAST_BATCH_COPY_ERROR holds why
	OnRowCopyComplete    Event = "row-copy-complete"   // every row is copied
	OnBeginPostponed     Event = "begin-postponed"     // the cut-over is ready but postponed
	OnStopReplication    Event = "stop-replication"    // --test-on-replica: before replication is stopped for the swap; failing prevents it
	OnStartReplication   Event = "start-replication"   // --test-on-replica: before replication is started again after a failed swap
	OnBeforeCutOver      Event = "before-cut-over"     // right before the swap; failing prevents it
	OnSuccess            Event = "success"             // the tables are swapped
	OnFailure            Event = "failure"             // the migration failed
)

var events = []Event{OnStartup, OnValidated, OnRowCountComplete, OnBeforeRowCopy, OnStatus, OnInteractiveCommand,
	OnBatchCopyRetry, OnRowCopyComplete, OnBeginPostponed, OnBeforeCutOver, OnStopReplication, OnStartReplication, OnSuccess, OnFailure}

// prefixes name a hook; gh-ost's come first, so a doppel-on- hook can rely on what a gh-ost-on-
// hook of the same event did.
var prefixes = []string{"gh-ost-on-", "doppel-on-"}

// maxOutput bounds the output of one hook kept for the log.
const maxOutput = 64 << 10

// Config configures Hooks.
type Config struct {
	// Dir is --hooks-path; empty runs no hooks.
	Dir string
	// Timeout, when > 0 (--hooks-timeout), bounds each hook; a hook still running then is killed,
	// with the processes it started, and fails. Zero waits as long as the hook runs, as gh-ost
	// does: an on-before-cut-over hook may wait for a person's approval.
	Timeout time.Duration
	Logger  *zap.Logger // nil: no logs
}

// Hooks finds and runs hooks. It is safe for concurrent use.
type Hooks struct {
	cfg Config
	log *zap.Logger
}

// New checks that cfg.Dir, when set, is a directory.
func New(cfg Config) (*Hooks, error) {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Dir != "" {
		fi, err := os.Stat(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("--hooks-path: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("--hooks-path %s is not a directory", cfg.Dir)
		}
	}
	return &Hooks{cfg: cfg, log: cfg.Logger}, nil
}

// Vars describe the migration to a hook. Each becomes GH_OST_<NAME> and DOPPEL_<NAME>.
type Vars struct {
	DatabaseName   string        // DATABASE_NAME
	TableName      string        // TABLE_NAME
	GhostTableName string        // GHOST_TABLE_NAME
	OldTableName   string        // OLD_TABLE_NAME: the original table's name after the swap
	DDL            string        // DDL: the ALTER
	Elapsed        time.Duration // ELAPSED_SECONDS, since the migration started
	ElapsedCopy    time.Duration // ELAPSED_COPY_SECONDS, since the row copy started
	EstimatedRows  int64         // ESTIMATED_ROWS
	CopiedRows     int64         // COPIED_ROWS
	InspectedLag   time.Duration // INSPECTED_LAG: the inspected replica's lag, in seconds
	HeartbeatLag   time.Duration // HEARTBEAT_LAG: the largest heartbeat lag, in seconds
	Progress       float64       // PROGRESS: percent, 0 to 100
	ETA            time.Duration // ETA_SECONDS; negative when unknown, given as -1
	MigratedHost   string        // MIGRATED_HOST: the server written to (the primary)
	InspectedHost  string        // INSPECTED_HOST: the server inspected, whose binlog is read
	ExecutingHost  string        // EXECUTING_HOST: the machine doppel runs on
	HooksHint      string        // HOOKS_HINT: --hooks-hint
	HooksHintOwner string        // HOOKS_HINT_OWNER: --hooks-hint-owner
	HooksHintToken string        // HOOKS_HINT_TOKEN: --hooks-hint-token
	DryRun         bool          // DRY_RUN: true without --execute
	Command        string        // COMMAND, for OnInteractiveCommand only
	Status         string        // STATUS, for OnStatus only
	LastCopyError  string        // LAST_BATCH_COPY_ERROR, for OnBatchCopyRetry only
	InstantDDL     bool          // INSTANT_DDL, for OnSuccess only: the ALTER ran natively with ALGORITHM=INSTANT
	Revert         bool          // REVERT: the run swaps an old table back in (--revert, or a --revert-window)
}

// environ returns the variables of event as NAME=value pairs, each under both prefixes. Numbers are
// formatted as gh-ost formats them.
func (v Vars) environ(event Event) []string {
	secs := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 6, 64) }
	eta := int64(-1)
	if v.ETA >= 0 {
		eta = int64(v.ETA / time.Second)
	}
	pairs := [][2]string{
		{"DATABASE_NAME", v.DatabaseName},
		{"TABLE_NAME", v.TableName},
		{"GHOST_TABLE_NAME", v.GhostTableName},
		{"OLD_TABLE_NAME", v.OldTableName},
		{"DDL", v.DDL},
		{"ELAPSED_SECONDS", secs(v.Elapsed)},
		{"ELAPSED_COPY_SECONDS", secs(v.ElapsedCopy)},
		{"ESTIMATED_ROWS", strconv.FormatInt(v.EstimatedRows, 10)},
		{"COPIED_ROWS", strconv.FormatInt(v.CopiedRows, 10)},
		{"INSPECTED_LAG", secs(v.InspectedLag)},
		{"HEARTBEAT_LAG", secs(v.HeartbeatLag)},
		{"PROGRESS", strconv.FormatFloat(v.Progress, 'f', 6, 64)},
		{"ETA_SECONDS", strconv.FormatInt(eta, 10)},
		{"MIGRATED_HOST", v.MigratedHost},
		{"INSPECTED_HOST", v.InspectedHost},
		{"EXECUTING_HOST", v.ExecutingHost},
		{"HOOKS_HINT", v.HooksHint},
		{"HOOKS_HINT_OWNER", v.HooksHintOwner},
		{"HOOKS_HINT_TOKEN", v.HooksHintToken},
		{"DRY_RUN", strconv.FormatBool(v.DryRun)},
		{"REVERT", strconv.FormatBool(v.Revert)},
	}
	switch event {
	case OnInteractiveCommand:
		pairs = append(pairs, [2]string{"COMMAND", v.Command})
	case OnStatus:
		pairs = append(pairs, [2]string{"STATUS", v.Status})
	case OnBatchCopyRetry:
		pairs = append(pairs, [2]string{"LAST_BATCH_COPY_ERROR", v.LastCopyError})
	case OnSuccess:
		pairs = append(pairs, [2]string{"INSTANT_DDL", strconv.FormatBool(v.InstantDDL)})
	}
	env := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		env = append(env, "GH_OST_"+p[0]+"="+p[1], "DOPPEL_"+p[0]+"="+p[1])
	}
	return env
}

// Run runs the hooks of event one after the other: gh-ost-on-<event>* sorted by name, then
// doppel-on-<event>* sorted by name, each with doppel's environment plus vars. It stops at the
// first hook that fails and returns an error naming it. The directory is read at every call, so
// hooks may be added or removed while the migration runs. Without a directory it does nothing.
func (h *Hooks) Run(ctx context.Context, event Event, vars Vars) error {
	paths, err := h.find(event)
	if err != nil || len(paths) == 0 {
		return err
	}
	env := append(os.Environ(), vars.environ(event)...)
	for _, p := range paths {
		if err := h.runOne(ctx, event, p, env); err != nil {
			return err
		}
	}
	return nil
}

// find lists the executables Run would run for event, in order. Files of a hook's name that are
// not executable are skipped with a warning.
func (h *Hooks) find(event Event) ([]string, error) {
	if !slices.Contains(events, event) {
		return nil, fmt.Errorf("hooks: unknown event %q", event)
	}
	if h.cfg.Dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(h.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("reading the hooks directory: %w", err)
	}
	var paths []string
	for _, prefix := range prefixes {
		for _, e := range entries { // ReadDir sorts by name
			if !strings.HasPrefix(e.Name(), prefix+string(event)) {
				continue
			}
			p := filepath.Join(h.cfg.Dir, e.Name())
			fi, err := os.Stat(p) // follows symbolic links
			switch {
			case err != nil:
				h.log.Warn("skipping a hook that cannot be read", zap.String("hook", p), zap.Error(err))
			case fi.IsDir():
			case fi.Mode()&0o111 == 0:
				h.log.Warn("skipping a hook that is not executable; chmod +x it to run it", zap.String("hook", p))
			default:
				paths = append(paths, p)
			}
		}
	}
	return paths, nil
}

func (h *Hooks) runOne(ctx context.Context, event Event, path string, env []string) error {
	name := filepath.Base(path)
	hctx, cancel := ctx, context.CancelFunc(func() {})
	if h.cfg.Timeout > 0 {
		hctx, cancel = context.WithTimeout(ctx, h.cfg.Timeout)
	}
	defer cancel()
	cmd := exec.CommandContext(hctx, path)
	cmd.Env = env
	var out capped
	cmd.Stdout, cmd.Stderr = &out, &out
	killGroup(cmd)
	// Once the hook is killed, do not wait long for whatever still holds its output open.
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	fields := []zap.Field{zap.String("hook", name), zap.String("event", string(event)), zap.Duration("took", time.Since(start))}
	if out.Len() > 0 {
		fields = append(fields, zap.String("output", out.String()))
	}
	if err == nil {
		h.log.Info("hook ran", fields...)
		return nil
	}
	h.log.Warn("hook failed", append(fields, zap.Error(err))...)
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("hook %s stopped: %w", name, ctx.Err())
	case errors.Is(hctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("hook %s did not finish within %s and was killed", name, h.cfg.Timeout)
	case errors.As(err, &exitErr):
		msg := fmt.Sprintf("hook %s failed: %s", name, exitErr.ProcessState)
		if last := out.lastLine(); last != "" {
			msg += ": " + last
		}
		return errors.New(msg)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("hook %s cannot be run: %w", name, err)
	}
	return fmt.Errorf("running hook %s: %w", name, err)
}

// capped keeps the first maxOutput bytes written to it.
type capped struct {
	bytes.Buffer
	dropped bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := maxOutput - c.Len(); room < len(p) {
		c.dropped = true
		c.Buffer.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return c.Buffer.Write(p)
}

func (c *capped) String() string {
	if c.dropped {
		return c.Buffer.String() + "\n[output cut]"
	}
	return c.Buffer.String()
}

// lastLine is the last non-empty line of the output, shortened: usually the hook's reason.
func (c *capped) lastLine() string {
	lines := strings.Split(strings.TrimSpace(c.Buffer.String()), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if len(last) > 200 {
		last = last[:200] + "..."
	}
	return last
}
