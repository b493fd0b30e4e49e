package migration

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/control"
	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/hooks"
	"github.com/doppel-sql/doppel/internal/changelog"
	"github.com/doppel-sql/doppel/internal/throttle"
)

// errPanic ends a run the operator stopped (the panic command or --panic-flag-file).
var errPanic = errors.New("stopped by the operator (panic)")

// newThrottler builds the throttler from the flags and checks them against the primary; a bad
// one is a refusal, before anything is created. It runs from the copy's start to the swap;
// release closes the throttle query's own connection.
func (r *run) newThrottler(ctx context.Context) (th *throttle.Throttler, release func(), err error) {
	cfg := r.cfg.Throttle
	cfg.Primary = r.s.primary
	queryDB, err := dbconn.Open(r.s.primaryCfg, r.cfg.Database)
	if err != nil {
		return nil, nil, err
	}
	queryDB.SetMaxOpenConns(1)
	cfg.QueryDB = queryDB
	defer func() {
		if err != nil {
			_ = queryDB.Close()
		}
	}()
	cfg.Changelog = changelog.New(r.cfg.Database, namesFor(r.cfg.Table).changelog)
	cfg.Flavor = r.s.flavor
	if r.s.replicaMode {
		inspected := r.s.inspectCfg
		cfg.Inspected = &inspected
	}
	cfg.ReplicaConn = r.cfg.Conn
	cfg.Logger = r.log()
	cfg.OnChange = func(throttled bool, kind, _ string) {
		if throttled {
			r.cfg.Metrics.SetThrottled(kind)
		} else {
			r.cfg.Metrics.SetNotThrottled()
		}
	}
	if th, err = throttle.New(cfg); err != nil {
		return nil, nil, &refusal{msg: err.Error()}
	}
	if err := th.Preflight(ctx); err != nil {
		return nil, nil, &refusal{msg: err.Error()}
	}
	return th, func() { _ = queryDB.Close() }, nil
}

// applyGate holds the apply loop while doppel is throttled, so that a throttled migration writes
// nothing at all. From the cut-over on it never holds: the swap waits for the replay.
type applyGate struct{ r *run }

func (g applyGate) Wait(ctx context.Context) error {
	if g.r.twinsStuck.Load() {
		return errTwinsStuck
	}
	if g.r.state.get() >= StateCuttingOver {
		return nil
	}
	if err := g.r.waitReplayHeld(ctx); err != nil {
		return err
	}
	return g.r.throttle.Wait(ctx)
}

// waitPostponed holds the cut-over while the postpone flag file exists, until it is removed or
// the operator sends unpostpone. The replay goes on meanwhile.
func (r *run) waitPostponed(ctx context.Context) error {
	r.log().Info("cut-over postponed: remove the flag file or send unpostpone to swap", zap.String("flag_file", *r.postpone.Load()))
	if err := r.hook(ctx, hooks.OnBeginPostponed); err != nil {
		return err
	}
	for r.postponed() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if err := r.verifyReplayedIfMany(ctx, waitingKeys); err != nil {
			return err
		}
	}
	r.log().Info("cut-over no longer postponed")
	return nil
}

// createPostponeFlagFile creates the postpone flag file when it is missing, as gh-ost does at start
// and on the socket command: a runbook that names one expects the cut-over to wait until an operator
// removes it, not to swap unattended because nobody created it.
func (r *run) createPostponeFlagFile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil
	case err != nil:
		return fmt.Errorf("--postpone-cut-over-flag-file %s cannot be created, so the cut-over could not be held for you: %w; choose a path doppel can write, or create the file yourself", path, err)
	}
	r.log().Info("created the postpone flag file: the cut-over waits until it is removed or unpostpone is sent", zap.String("flag_file", path))
	return f.Close()
}

func (r *run) postponed() bool {
	path := *r.postpone.Load()
	if path == "" || r.unpostponed.Load() {
		return false
	}
	_, err := os.Stat(path)
	return err == nil
}

// waitLag holds the cut-over until the replicas are within --max-lag-millis: swapping while a
// replica lags would make it serve the old schema, and then block on the RENAME, for that long.
func (r *run) waitLag(ctx context.Context) error {
	for logged := false; !r.throttle.LagOK(); {
		if !logged {
			_, reason := r.throttle.Check()
			r.log().Info("waiting for the replicas before the cut-over", zap.String("reason", reason))
			logged = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if err := r.verifyReplayedIfMany(ctx, waitingKeys); err != nil {
			return err
		}
	}
	return nil
}

// watchPanicFlag stops the run as soon as --panic-flag-file exists.
func (r *run) watchPanicFlag(ctx context.Context) error {
	path := r.cfg.PanicFlagFile
	if path == "" {
		return nil
	}
	for {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("the panic flag file %s exists: %w", path, errPanic)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// hook runs a hook with the run's current figures. Failures of the status, success, failure and
// batch-copy-retry hooks are logged; the others stop the migration.
func (r *run) hook(ctx context.Context, event hooks.Event) error {
	return r.hookWith(ctx, event, r.hookVars())
}

func (r *run) hookWith(ctx context.Context, event hooks.Event, vars hooks.Vars) error {
	err := r.hooks.Run(ctx, event, vars)
	if err == nil {
		return nil
	}
	switch event {
	case hooks.OnStatus, hooks.OnSuccess, hooks.OnFailure, hooks.OnBatchCopyRetry, hooks.OnStartReplication:
		r.log().Warn("hook failed", zap.String("event", string(event)), zap.Error(err))
		return nil
	}
	return err
}

func (r *run) hookVars() hooks.Vars {
	n := namesFor(r.cfg.Table)
	v := hooks.Vars{
		DatabaseName: r.cfg.Database, TableName: r.cfg.Table, GhostTableName: n.ghost, OldTableName: n.old,
		DDL: r.cfg.Alter, Elapsed: time.Since(r.start), ETA: -1,
		HooksHint: r.cfg.HooksHint, HooksHintOwner: r.cfg.HooksHintOwner, HooksHintToken: r.cfg.HooksHintToken,
		DryRun: !r.cfg.Execute, InspectedHost: r.cfg.Conn.Addr(), Revert: r.cfg.Revert,
	}
	v.ExecutingHost, _ = os.Hostname()
	if r.s != nil {
		v.MigratedHost, v.InspectedHost = r.s.primaryCfg.Addr(), r.s.inspectCfg.Addr()
	}
	if r.p != nil {
		v.OldTableName = r.p.old // with --timestamp-old-table, the timestamped name
		if r.cfg.Revert {
			v.GhostTableName = r.p.names.ghost // the old table swapped back in
		}
		p := r.snapshot()
		v.EstimatedRows, v.CopiedRows, v.Progress, v.ETA = p.Estimated, p.Copied, p.Percent, p.ETA
		if start := r.copyStart.Load(); start != 0 {
			v.ElapsedCopy = time.Since(time.Unix(0, start))
		}
	}
	if r.throttle != nil {
		v.HeartbeatLag = r.throttle.Lag()
		if r.s != nil && r.s.replicaMode {
			v.InspectedLag = r.throttle.ReplicaLags()[r.s.inspectCfg.Addr()]
		}
	}
	return v
}

// listenControl binds the control socket, before anything is created, so that a socket in use
// stops the run early.
func (r *run) listenControl() (*control.Server, error) {
	if r.cfg.SocketPath == "" && r.cfg.TCPAddr == "" {
		return nil, nil
	}
	srv, err := control.Listen(control.Config{
		SocketPath: r.cfg.SocketPath, TCPAddr: r.cfg.TCPAddr, Table: r.cfg.Table, Handlers: r.controlHandlers(),
		ForceNamedCutOver: r.cfg.ForceNamedCutOver, ForceNamedPanic: r.cfg.ForceNamedPanic, DropLiveSocket: r.cfg.InitiallyDropSocketFile,
		BeforeCommand: func(ctx context.Context, command string) error {
			v := r.hookVars()
			v.Command = command
			return r.hookWith(ctx, hooks.OnInteractiveCommand, v)
		},
		Logger: r.log(),
	})
	if err != nil {
		return nil, &refusal{msg: fmt.Sprintf("cannot serve the control socket: %v", err)}
	}
	return srv, nil
}

// controlHandlers binds every control command to what it does in this run. The socket is bound
// before the servers are connected and the throttler is built, so the handlers look them up when
// called.
func (r *run) controlHandlers() control.Handlers {
	type th = throttle.Throttler
	return control.Handlers{
		Status:      func() string { return r.statusText(r.snapshot()) },
		Sup:         func() string { return r.snapshot().Line() },
		Coordinates: r.coordinates,
		Applier:     func() (string, error) { return r.s.primaryCfg.Addr(), nil },
		Inspector:   func() (string, error) { return r.s.inspectCfg.Addr(), nil },

		ChunkSize:               logged(r, "chunk-size", r.chunk.Load, r.setChunkSize),
		DMLBatchSize:            logged(r, "dml-batch-size", r.dmlBatch.Load, r.setDMLBatchSize),
		PostponeCutOverFlagFile: logged(r, "postpone-cut-over-flag-file", func() string { return *r.postpone.Load() }, r.setPostponeFlagFile),
		MaxLagMillis:            throttlerSetting(r, "max-lag-millis", maxLagMillis, setMaxLagMillis),
		MaxLoad:                 throttlerSetting(r, "max-load", (*th).MaxLoad, checkedOnPrimary((*th).SetMaxLoad)),
		CriticalLoad:            throttlerSetting(r, "critical-load", (*th).CriticalLoad, checkedOnPrimary((*th).SetCriticalLoad)),
		NiceRatio:               throttlerSetting(r, "nice-ratio", (*th).NiceRatio, (*th).SetNiceRatio),
		ThrottleQuery:           throttlerSetting(r, "throttle-query", (*th).ThrottleQuery, checkedOnPrimary((*th).SetThrottleQuery)),
		ThrottleHTTP:            throttlerSetting(r, "throttle-http", (*th).ThrottleHTTP, (*th).SetThrottleHTTP),
		ThrottleControlReplicas: throttlerSetting(r, "throttle-control-replicas", (*th).ControlReplicas, (*th).SetControlReplicas),

		Throttle: func() (string, error) {
			r.throttle.SetUserThrottle(true)
			return "throttled by the operator", nil
		},
		NoThrottle: func() (string, error) {
			r.throttle.SetUserThrottle(false)
			return "operator throttle lifted", nil
		},
		Unpostpone: func() (string, error) {
			r.unpostponed.Store(true)
			return "the cut-over is no longer postponed", nil
		},
		Panic: func() (string, error) {
			r.log().Warn("panic command received: stopping the migration; the original table is left as it is")
			r.abort(errPanic)
			return "stopping: the original table is left as it is", nil
		},
		Revert:          func() (string, error) { return r.windowCommand("revert") },
		EndRevertWindow: func() (string, error) { return r.windowCommand("end-revert-window") },
	}
}

func (r *run) coordinates() (string, error) {
	if r.applier == nil {
		return "", errors.New("the binlog stream has not started yet")
	}
	return fmt.Sprintf("applied up to %s", r.applier.Position()), nil
}

func (r *run) setChunkSize(n int64) error {
	if n < MinChunkSize || n > MaxChunkSize {
		return fmt.Errorf("chunk-size %d is out of range: use %d to %d", n, MinChunkSize, MaxChunkSize)
	}
	r.chunk.Store(n)
	return nil
}

func (r *run) setDMLBatchSize(n int64) error {
	if n < 1 || n > MaxDMLBatchSize {
		return fmt.Errorf("dml-batch-size %d is out of range: use 1 to %d", n, MaxDMLBatchSize)
	}
	r.dmlBatch.Store(n)
	return nil
}

// setPostponeFlagFile replaces the flag file, creating it as gh-ost does; a new one postpones again
// after an unpostpone.
func (r *run) setPostponeFlagFile(path string) error {
	if err := r.createPostponeFlagFile(path); err != nil {
		return err
	}
	r.postpone.Store(&path)
	r.unpostponed.Store(false)
	return nil
}

func maxLagMillis(t *throttle.Throttler) int64 { return t.MaxLag().Milliseconds() }

func setMaxLagMillis(t *throttle.Throttler, ms int64) error {
	return t.SetMaxLag(time.Duration(ms) * time.Millisecond)
}

// setTimeout bounds the server checks of a setting changed from the control socket.
const setTimeout = 5 * time.Second

// checkedOnPrimary bounds a setter that checks its value on the primary (a status variable
// exists, the query runs).
func checkedOnPrimary(set func(*throttle.Throttler, context.Context, string) error) func(*throttle.Throttler, string) error {
	return func(t *throttle.Throttler, v string) error {
		ctx, cancel := context.WithTimeout(context.Background(), setTimeout)
		defer cancel()
		return set(t, ctx, v)
	}
}

// throttlerSetting binds a setting of the throttler, which is looked up on each call.
func throttlerSetting[T control.Value](r *run, name string, get func(*throttle.Throttler) T, set func(*throttle.Throttler, T) error) control.Setting[T] {
	return logged(r, name, func() T { return get(r.throttle) }, func(v T) error { return set(r.throttle, v) })
}

// logged binds a setting whose changes are logged.
func logged[T control.Value](r *run, name string, get func() T, set func(T) error) control.Setting[T] {
	return control.Setting[T]{Get: get, Set: func(v T) error {
		if err := set(v); err != nil {
			return err
		}
		r.log().Info("setting changed from the control socket", zap.String("setting", name), zap.Any("value", v))
		return nil
	}}
}
