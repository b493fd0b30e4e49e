package throttle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/changelog"
)

// beat returns the heartbeat writer. A failed write is logged, not returned: the primary may be
// briefly unreachable, and the missing heartbeats then show up as lag on the replicas anyway.
func (t *Throttler) beat() func(context.Context) error {
	failing := false
	return func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, checkTimeout)
		defer cancel()
		start := time.Now()
		err := t.cfg.Changelog.Write(cctx, t.cfg.Primary, changelog.HintHeartbeat, changelog.Heartbeat(start))
		if t.pace != nil {
			// A write that failed or timed out took at least this long: it counts as slow.
			t.pace.observe(time.Since(start))
		}
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			t.log.Warn("cannot write the heartbeat to the changelog table; replicas will look lagging", zap.String("table", t.cfg.Changelog.Qualified()), zap.Error(err))
		case err == nil && failing:
			failing = false
			t.log.Info("heartbeat writes work again")
		}
		return nil
	}
}

// watchLag reads every replica's replication threads and heartbeat each heartbeat interval, all
// replicas at once so one that does not answer delays the round by checkTimeout at most. It keeps a
// small pool per replica and follows changes to the list of control replicas.
func (t *Throttler) watchLag(ctx context.Context) error {
	pools := map[string]*sql.DB{}
	defer func() {
		for _, db := range pools {
			_ = db.Close()
		}
	}()
	return t.every(ctx, t.cfg.HeartbeatInterval, t.wakeLag, func(ctx context.Context) error {
		replicas := t.replicas()
		results := make([]replicaLag, len(replicas))
		current := map[string]bool{}
		for i, c := range replicas {
			addr := c.Addr()
			current[addr] = true
			results[i].addr = addr
			if pools[addr] != nil {
				continue
			}
			c.ConnectTimeout = checkTimeout
			db, err := dbconn.Open(c, "")
			if err != nil {
				results[i].problem = fmt.Sprintf("replica %s: %v", addr, err)
				continue
			}
			// One check at a time per replica; keep its connection between rounds.
			db.SetMaxOpenConns(1)
			db.SetMaxIdleConns(1)
			pools[addr] = db
		}
		for addr, db := range pools {
			if !current[addr] {
				_ = db.Close()
				delete(pools, addr)
			}
		}
		var g errgroup.Group
		for i := range replicas {
			db := pools[results[i].addr]
			if db == nil {
				continue
			}
			g.Go(func() error {
				cctx, cancel := context.WithTimeout(ctx, checkTimeout)
				defer cancel()
				results[i] = checkReplica(cctx, db, results[i].addr, t.cfg.Flavor, t.cfg.Changelog)
				return nil
			})
		}
		_ = g.Wait() // checks report problems in their results, never as errors
		if ctx.Err() != nil {
			return nil // cancelled checks say nothing about the replicas
		}
		t.lags.Store(&results)
		t.evalLag()
		return nil
	})
}

// checkLoad reads the status variables named in max-load and critical-load on the primary, and
// acts on critical load first.
func (t *Throttler) checkLoad(ctx context.Context) error {
	maxLoad, critical := *t.maxLoad.Load(), *t.criticalLoad.Load()
	if len(maxLoad) == 0 && len(critical) == 0 {
		t.set(sigCritical, false, "")
		t.set(sigLoad, false, "")
		return nil
	}
	values, err := t.readLoad(ctx, maxLoad, critical)
	if err != nil {
		if ctx.Err() == nil {
			t.set(sigLoad, true, "load unknown: "+err.Error())
		}
		return nil
	}
	hit, missing := critical.exceeded(values)
	switch {
	case missing != "":
		t.set(sigCritical, true, fmt.Sprintf("critical-load: the primary has no status variable %s", missing))
	case hit != "":
		return t.onCriticalLoad(ctx, critical, hit)
	default:
		t.set(sigCritical, false, "")
	}
	hit, missing = maxLoad.exceeded(values)
	switch {
	case missing != "":
		t.set(sigLoad, true, fmt.Sprintf("max-load: the primary has no status variable %s", missing))
	case hit != "":
		t.set(sigLoad, true, "max-load "+hit)
	default:
		t.set(sigLoad, false, "")
	}
	return nil
}

func (t *Throttler) readLoad(ctx context.Context, loads ...Load) (map[string]float64, error) {
	var names []string
	for _, l := range loads {
		for _, th := range l {
			names = append(names, th.Name)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	return readStatus(cctx, t.cfg.Primary, names)
}

// onCriticalLoad checks again after CriticalLoadInterval if one is set, then hibernates or ends the
// migration. doppel throttles meanwhile: whatever happens next, the server is in trouble now.
func (t *Throttler) onCriticalLoad(ctx context.Context, critical Load, hit string) error {
	if wait := t.cfg.CriticalLoadInterval; wait > 0 {
		t.set(sigCritical, true, fmt.Sprintf("critical-load %s; checking again in %s", hit, wait))
		t.log.Warn("critical load reached; checking again before acting", zap.String("load", hit), zap.Duration("in", wait))
		if !sleep(ctx, wait) {
			return nil
		}
		values, err := t.readLoad(ctx, critical)
		if err != nil {
			return nil // still throttled; the next round decides
		}
		if hit, _ = critical.exceeded(values); hit == "" {
			t.log.Info("critical load passed")
			t.set(sigCritical, false, "")
			return nil
		}
	}
	if hib := t.cfg.CriticalLoadHibernate; hib > 0 {
		until := time.Now().Add(hib)
		t.hibernateUntil.Store(until.UnixNano())
		t.set(sigCritical, true, fmt.Sprintf("critical-load %s: hibernating until %s", hit, until.UTC().Format(time.TimeOnly+" MST")))
		t.log.Warn("critical load reached: hibernating; no heartbeats or checks meanwhile", zap.String("load", hit), zap.Duration("for", hib))
		sleep(ctx, hib)
		t.hibernateUntil.Store(0)
		// What was measured before hibernating is stale: measure again before writing.
		t.forgetLag()
		for _, ch := range []chan struct{}{t.wakeLag, t.wakeQuery, t.wakeHTTP} {
			wake(ch)
		}
		t.set(sigCritical, false, "")
		return nil
	}
	t.set(sigCritical, true, "critical-load "+hit)
	return fmt.Errorf("%w: %s (critical-load %s)", ErrCriticalLoad, hit, critical)
}

// checkQuery runs the throttle query on the primary, read-only; a result > 0 throttles.
func (t *Throttler) checkQuery(ctx context.Context) error {
	q := t.ThrottleQuery()
	if q == "" {
		t.set(sigQuery, false, "")
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	n, err := runQuery(cctx, t.queryDB(), q)
	switch {
	case ctx.Err() != nil || q != t.ThrottleQuery():
		// Stopping, or the query was replaced meanwhile: this result is no one's answer.
	case err != nil:
		t.set(sigQuery, true, fmt.Sprintf("throttle-query failed: %v", shortError(cctx, err)))
	case !n.Valid:
		t.set(sigQuery, true, "throttle-query returned NULL; it must return a number")
	case n.Float64 > 0:
		t.set(sigQuery, true, fmt.Sprintf("throttle-query returned %v", n.Float64))
	default:
		t.set(sigQuery, false, "")
	}
	return nil
}

// checkHTTP sends a HEAD request to the throttle URL; any answer but 200 throttles, and so does
// no answer within HTTPTimeout unless IgnoreHTTPErrors.
func (t *Throttler) checkHTTP(ctx context.Context) error {
	u := t.ThrottleHTTP()
	if u == "" {
		t.set(sigHTTP, false, "")
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, t.cfg.HTTPTimeout)
	defer cancel()
	status, err := t.head(cctx, u)
	switch {
	case ctx.Err() != nil || u != t.ThrottleHTTP():
	case err != nil && t.cfg.IgnoreHTTPErrors:
		t.set(sigHTTP, false, "")
	case err != nil:
		t.set(sigHTTP, true, fmt.Sprintf("throttle-http %s: %v", u, err))
	case status != http.StatusOK:
		t.set(sigHTTP, true, fmt.Sprintf("throttle-http %s answered %d %s", u, status, http.StatusText(status)))
	default:
		t.set(sigHTTP, false, "")
	}
	return nil
}

func (t *Throttler) head(ctx context.Context, u string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "doppel")
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// checkFlagFiles throttles while either flag file exists. A file that cannot be looked at (a
// directory without permission) throttles too: it may well exist.
func (t *Throttler) checkFlagFiles(context.Context) error {
	for _, f := range []string{t.cfg.FlagFile, t.cfg.AdditionalFlagFile} {
		if f == "" {
			continue
		}
		_, err := os.Stat(f)
		switch {
		case err == nil:
			t.set(sigFlagFile, true, "flag-file "+f+" exists")
			return nil
		case !errors.Is(err, fs.ErrNotExist):
			t.set(sigFlagFile, true, fmt.Sprintf("flag-file %s cannot be checked: %v", f, err))
			return nil
		}
	}
	t.set(sigFlagFile, false, "")
	return nil
}
