package migration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
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
	if g.r.state.get() >= StateCuttingOver {
		return nil
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
	}
	r.log().Info("cut-over no longer postponed")
	return nil
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

// hook runs a hook with the run's current figures. Failures of the status, success and failure
// hooks are logged; the others stop the migration.
func (r *run) hook(ctx context.Context, event hooks.Event) error {
	return r.hookWith(ctx, event, r.hookVars())
}

func (r *run) hookWith(ctx context.Context, event hooks.Event, vars hooks.Vars) error {
	err := r.hooks.Run(ctx, event, vars)
	if err == nil {
		return nil
	}
	switch event {
	case hooks.OnStatus, hooks.OnSuccess, hooks.OnFailure:
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
		DryRun: !r.cfg.Execute, InspectedHost: r.cfg.Conn.Addr(),
	}
	v.ExecutingHost, _ = os.Hostname()
	if r.s != nil {
		v.MigratedHost, v.InspectedHost = r.s.primaryCfg.Addr(), r.s.inspectCfg.Addr()
	}
	if r.p != nil {
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
		SocketPath: r.cfg.SocketPath, TCPAddr: r.cfg.TCPAddr, Table: r.cfg.Table, Controller: r,
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

// Status implements control.Controller.
func (r *run) Status(short bool) string {
	p := r.snapshot()
	if short {
		return p.Line()
	}
	return r.statusText(p)
}

// Get implements control.Controller.
func (r *run) Get(name string) (string, error) {
	th := r.throttle
	switch name {
	case control.ChunkSize:
		return strconv.FormatInt(r.chunk.Load(), 10), nil
	case control.DMLBatchSize:
		return strconv.FormatInt(r.dmlBatch.Load(), 10), nil
	case control.MaxLagMillis:
		return strconv.FormatInt(th.MaxLag().Milliseconds(), 10), nil
	case control.MaxLoad:
		return th.MaxLoad(), nil
	case control.CriticalLoad:
		return th.CriticalLoad(), nil
	case control.NiceRatio:
		return strconv.FormatFloat(th.NiceRatio(), 'f', -1, 64), nil
	case control.ThrottleQuery:
		return th.ThrottleQuery(), nil
	case control.ThrottleHTTP:
		return th.ThrottleHTTP(), nil
	case control.ThrottleControlReplicas:
		return th.ControlReplicas(), nil
	case control.PostponeCutOverFlagFile:
		return *r.postpone.Load(), nil
	case control.Coordinates:
		if r.applier == nil {
			return "", errors.New("the binlog stream has not started yet")
		}
		return fmt.Sprintf("applied up to %s", r.applier.Position()), nil
	case control.Applier:
		return r.s.primaryCfg.Addr(), nil
	case control.Inspector:
		return r.s.inspectCfg.Addr(), nil
	}
	return "", fmt.Errorf("%s cannot be read", name)
}

// setTimeout bounds the server checks of a setting changed from the control socket.
const setTimeout = 5 * time.Second

// Set implements control.Controller.
func (r *run) Set(name, value string) error {
	th := r.throttle
	// Some settings are checked on the primary (a status variable exists, the query runs).
	ctx, cancel := context.WithTimeout(context.Background(), setTimeout)
	defer cancel()
	switch name {
	case control.ChunkSize:
		n, _ := strconv.ParseInt(value, 10, 64)
		if n < MinChunkSize || n > MaxChunkSize {
			return fmt.Errorf("chunk-size %d is out of range: use %d to %d", n, MinChunkSize, MaxChunkSize)
		}
		r.chunk.Store(n)
	case control.DMLBatchSize:
		n, _ := strconv.ParseInt(value, 10, 64)
		if n < 1 || n > MaxDMLBatchSize {
			return fmt.Errorf("dml-batch-size %d is out of range: use 1 to %d", n, MaxDMLBatchSize)
		}
		r.dmlBatch.Store(n)
	case control.MaxLagMillis:
		n, _ := strconv.ParseInt(value, 10, 64)
		return th.SetMaxLag(time.Duration(n) * time.Millisecond)
	case control.MaxLoad:
		return th.SetMaxLoad(ctx, value)
	case control.CriticalLoad:
		return th.SetCriticalLoad(ctx, value)
	case control.NiceRatio:
		f, _ := strconv.ParseFloat(value, 64)
		return th.SetNiceRatio(f)
	case control.ThrottleQuery:
		return th.SetThrottleQuery(ctx, value)
	case control.ThrottleHTTP:
		return th.SetThrottleHTTP(value)
	case control.ThrottleControlReplicas:
		return th.SetControlReplicas(value)
	case control.PostponeCutOverFlagFile:
		r.postpone.Store(&value)
		r.unpostponed.Store(false)
	default:
		return fmt.Errorf("%s cannot be changed", name)
	}
	r.log().Info("setting changed from the control socket", zap.String("setting", name), zap.String("value", value))
	return nil
}

// Act implements control.Controller.
func (r *run) Act(name string) (string, error) {
	switch name {
	case control.Throttle:
		r.throttle.SetUserThrottle(true)
		return "throttled by the operator", nil
	case control.NoThrottle:
		r.throttle.SetUserThrottle(false)
		return "operator throttle lifted", nil
	case control.Unpostpone:
		r.unpostponed.Store(true)
		return "the cut-over is no longer postponed", nil
	case control.Panic:
		r.log().Warn("panic command received: stopping the migration; the original table is left as it is")
		r.abort(errPanic)
		return "stopping: the original table is left as it is", nil
	}
	return "", fmt.Errorf("%s is not an action", name)
}
