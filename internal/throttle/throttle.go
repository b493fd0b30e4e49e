// Package throttle answers one cheap question, "may doppel write now?", for the copier (before every
// chunk) and the apply loop (before every batch). The answer comes from signals collected in the
// background: replica lag measured with heartbeats doppel writes to the changelog table, server load,
// a throttle query, an HTTP endpoint, flag files and the operator's own command. Any one signal that
// says "throttle" throttles; the first in a fixed order gives the reason.
//
// Settings are checked before anything runs: ranges and syntax by Config.Check, the status
// variables and the throttle query against the primary by Preflight, and every change from the
// control socket the same way. A signal that still cannot be evaluated while running (a replica
// that does not answer, a throttle query that starts failing) throttles, with a reason that says
// so: doppel never writes on a guess. The throttle query runs in a read-only transaction.
package throttle

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/changelog"
)

const (
	// checkTimeout bounds every query of a check: a replica or primary that does not answer within it
	// counts as lagging or overloaded rather than holding up the decision.
	checkTimeout = time.Second
	// flagFileInterval is how often the flag files are looked at; a stat is cheap.
	flagFileInterval = 100 * time.Millisecond
)

// ErrCriticalLoad is what Run returns, wrapped with the threshold that was reached, when
// --critical-load is met (twice, with --critical-load-interval-millis) and no hibernation is set.
var ErrCriticalLoad = errors.New("critical load reached: doppel stopped the migration")

// Config configures a Throttler. Start from DefaultConfig: a zero interval is refused, not
// replaced.
type Config struct {
	// Primary is where heartbeats are written and max-load, critical-load and the throttle query
	// are checked.
	Primary *sql.DB
	// Changelog is the changelog table the heartbeats are written to and read from.
	Changelog changelog.Table
	// Flavor tells how to read a replica's replication status.
	Flavor dbconn.Flavor
	// Inspected is the replica doppel inspects and reads the binlog from; its lag always counts.
	// nil when doppel inspects the primary itself (--allow-on-master).
	Inspected *dbconn.Config
	// ControlReplicas is --throttle-control-replicas: "host[:port],...". Each is reached with
	// ReplicaConn's user, password and TLS settings, and its port when none is given.
	ControlReplicas string
	ReplicaConn     dbconn.Config

	// HeartbeatInterval is --heartbeat-interval-millis: how often the heartbeat is written, and how
	// often replicas are read.
	HeartbeatInterval time.Duration
	// MaxLag is --max-lag-millis.
	MaxLag time.Duration
	// MaxLoad and CriticalLoad are --max-load and --critical-load ("Threads_running=25,...").
	MaxLoad      string
	CriticalLoad string
	// CriticalLoadInterval is --critical-load-interval-millis: when > 0, critical load must still be
	// met after this long before doppel acts on it.
	CriticalLoadInterval time.Duration
	// CriticalLoadHibernate is --critical-load-hibernate-seconds: when > 0, critical load makes doppel
	// pause everything (heartbeats and checks too) for this long instead of aborting.
	CriticalLoadHibernate time.Duration
	// LoadInterval is how often max-load, critical-load and the throttle query are checked.
	LoadInterval time.Duration
	// ThrottleQuery is --throttle-query: run on the primary, a result > 0 throttles.
	ThrottleQuery string
	// QueryDB, when set, runs the throttle query: a pool on the primary whose default database is
	// the migrated one, so the query names tables as it does with gh-ost, and of its own, so the
	// query's session state never reaches doppel's writes. nil: Primary.
	QueryDB *sql.DB
	// ThrottleHTTP is --throttle-http: a HEAD request every HTTPInterval; any answer but 200, or
	// none within HTTPTimeout, throttles.
	ThrottleHTTP              string
	HTTPInterval, HTTPTimeout time.Duration
	// IgnoreHTTPErrors is gh-ost's --ignore-http-errors: an endpoint that cannot be reached (or
	// does not answer in time) does not throttle; only an answer other than 200 does.
	IgnoreHTTPErrors bool
	// FlagFile and AdditionalFlagFile are --throttle-flag-file and --throttle-additional-flag-file:
	// while either exists, doppel throttles.
	FlagFile, AdditionalFlagFile string
	// NiceRatio is --nice-ratio: after a chunk that took d, Nice sleeps d × NiceRatio.
	NiceRatio float64
	// MaxCommitLatency is --max-commit-latency: when > 0, Nice also rests after each chunk as long
	// as it takes to keep the primary's commit latency (the heartbeat's, p90 of the last second)
	// under it (pace.go).
	MaxCommitLatency time.Duration

	Logger *zap.Logger // nil: no logs
	// OnChange, when set, is called from Run's goroutine whenever doppel starts or stops
	// throttling, or throttles for another kind of reason. It must not block for long.
	// kind is the signal's fixed name ("replica-lag", "max-load", "user", ...), for metrics labels;
	// reason says what happened, for people.
	OnChange func(throttled bool, kind, reason string)
}

// DefaultConfig returns gh-ost's defaults. The additional flag file is gh-ost's too, so that
// touching it pauses every gh-ost and doppel migration on the host at once.
func DefaultConfig() Config {
	return Config{
		HeartbeatInterval:  100 * time.Millisecond,
		MaxLag:             1500 * time.Millisecond,
		LoadInterval:       time.Second,
		HTTPInterval:       100 * time.Millisecond,
		HTTPTimeout:        time.Second,
		AdditionalFlagFile: "/tmp/gh-ost.throttle",
	}
}

// signal is one source of throttling. The order is the order of precedence of reasons.
type signal int

const (
	sigUser signal = iota
	sigFlagFile
	sigCritical
	sigLag
	sigLoad
	sigQuery
	sigHTTP
	numSignals
)

// kinds name the signals in metrics labels: short and fixed, unlike reasons, which carry figures.
var kinds = [numSignals]string{"user", "flag-file", "critical-load", "replica-lag", "max-load", "throttle-query", "throttle-http"}

// String is the signal's kind, such as "replica-lag".
func (s signal) String() string {
	if s >= 0 && s < numSignals {
		return kinds[s]
	}
	return "unknown"
}

// verdict is one signal's, or the combined, answer.
type verdict struct {
	throttled bool
	sig       signal
	reason    string
}

// Throttler collects the signals (Run) and answers Check and Wait. Every method is safe for
// concurrent use; the setters change what Run checks at once.
type Throttler struct {
	cfg       Config
	log       *zap.Logger
	transport *http.Transport
	client    *http.Client

	maxLag          atomic.Int64 // nanoseconds
	maxLoad         atomic.Pointer[Load]
	criticalLoad    atomic.Pointer[Load]
	niceRatio       atomic.Uint64 // math.Float64bits
	query           atomic.Pointer[string]
	httpURL         atomic.Pointer[string]
	controlReplicas atomic.Pointer[[]dbconn.Config]
	user            atomic.Bool
	hibernateUntil  atomic.Int64 // unix nanoseconds; 0 when not hibernating

	pace   *pacer                       // nil without MaxCommitLatency
	lags   atomic.Pointer[[]replicaLag] // the last round of replica checks
	lagMu  sync.Mutex                   // serializes turning lags into the lag verdict
	slots  [numSignals]atomic.Pointer[verdict]
	state  atomic.Pointer[verdict] // the combined answer Check reads
	mu     sync.Mutex              // serializes combining; guards changed
	change chan struct{}           // closed and replaced whenever state changes

	notify                                 chan struct{} // state changed, for the notifier
	wakeLag, wakeLoad, wakeQuery, wakeHTTP chan struct{} // a setter changed what the poller checks
}

// New checks cfg (Config.Check) and returns a Throttler. Nothing is checked on the server until
// Preflight or Run; until the first round of replica checks ends, lag counts as too high.
func New(cfg Config) (*Throttler, error) {
	if cfg.Primary == nil || cfg.Changelog.Name() == "" || cfg.Flavor == nil {
		return nil, errors.New("throttle: Primary, Changelog and Flavor are required")
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	t := &Throttler{
		cfg: cfg, log: cfg.Logger,
		change:  make(chan struct{}),
		notify:  make(chan struct{}, 1),
		wakeLag: make(chan struct{}, 1), wakeLoad: make(chan struct{}, 1),
		wakeQuery: make(chan struct{}, 1), wakeHTTP: make(chan struct{}, 1),
	}
	t.transport = http.DefaultTransport.(*http.Transport).Clone()
	t.client = &http.Client{Transport: t.transport}
	t.state.Store(&verdict{})
	// Check has parsed every value already.
	maxLoad, _ := ParseLoad(cfg.MaxLoad)
	critical, _ := ParseLoad(cfg.CriticalLoad)
	replicas, _ := ParseReplicas(cfg.ControlReplicas, cfg.ReplicaConn)
	t.maxLag.Store(int64(cfg.MaxLag))
	t.maxLoad.Store(&maxLoad)
	t.criticalLoad.Store(&critical)
	t.niceRatio.Store(math.Float64bits(cfg.NiceRatio))
	t.query.Store(&cfg.ThrottleQuery)
	t.httpURL.Store(&cfg.ThrottleHTTP)
	t.controlReplicas.Store(&replicas)
	if cfg.MaxCommitLatency > 0 {
		t.pace = newPacer(cfg.MaxCommitLatency)
	}
	t.forgetLag()
	// A flag file that exists already throttles from the first chunk on, not from Run's first
	// round of checks, which the copy may beat.
	_ = t.checkFlagFiles(context.Background()) // it reports through the verdict, never an error
	return t, nil
}

// Preflight checks the settings against the primary before anything is created: every status
// variable --max-load and --critical-load name exists there and holds a number, and the throttle
// query runs (once, read-only). Each would otherwise throttle for ever once the migration runs.
func (t *Throttler) Preflight(ctx context.Context) error {
	return errors.Join(
		checkStatus(ctx, t.cfg.Primary, "--max-load", *t.maxLoad.Load()),
		checkStatus(ctx, t.cfg.Primary, "--critical-load", *t.criticalLoad.Load()),
		t.tryQuery(ctx, t.ThrottleQuery()),
	)
}

// tryQuery runs q once as the throttle check would, and returns the server's error.
func (t *Throttler) tryQuery(ctx context.Context, q string) error {
	if q == "" {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if _, err := runQuery(cctx, t.queryDB(), q); err != nil {
		return fmt.Errorf("--throttle-query failed on the primary: %w", shortError(cctx, err))
	}
	return nil
}

// queryDB is where the throttle query runs.
func (t *Throttler) queryDB() *sql.DB {
	if t.cfg.QueryDB != nil {
		return t.cfg.QueryDB
	}
	return t.cfg.Primary
}

// forgetLag drops every measurement: lag counts as unknown until the next round of checks.
func (t *Throttler) forgetLag() {
	t.lags.Store(&[]replicaLag{})
	t.evalLag()
}

// Run writes heartbeats and collects every signal until ctx ends. It returns nil then, and an
// error wrapping ErrCriticalLoad when critical load ends the migration. Call it once.
func (t *Throttler) Run(ctx context.Context) error {
	defer t.transport.CloseIdleConnections()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return t.reportChanges(ctx) })
	g.Go(func() error { return t.every(ctx, t.cfg.HeartbeatInterval, nil, t.beat()) })
	g.Go(func() error { return t.watchLag(ctx) })
	g.Go(func() error { return t.every(ctx, t.cfg.LoadInterval, t.wakeLoad, t.checkLoad) })
	g.Go(func() error { return t.every(ctx, t.cfg.LoadInterval, t.wakeQuery, t.checkQuery) })
	g.Go(func() error { return t.every(ctx, t.cfg.HTTPInterval, t.wakeHTTP, t.checkHTTP) })
	g.Go(func() error { return t.every(ctx, flagFileInterval, nil, t.checkFlagFiles) })
	return g.Wait()
}

// Check reports whether doppel must not write now, and why. It only reads memory.
func (t *Throttler) Check() (throttled bool, reason string) {
	s := t.state.Load()
	return s.throttled, s.reason
}

// Wait returns once doppel may write, at once when it is not throttled, or with ctx's error. It is
// the copier's Gate, and the apply loop calls it before every batch.
func (t *Throttler) Wait(ctx context.Context) error {
	for {
		if !t.state.Load().throttled {
			return nil
		}
		t.mu.Lock()
		s, changed := t.state.Load(), t.change
		t.mu.Unlock()
		if !s.throttled {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting while throttled (%s): %w", s.reason, ctx.Err())
		}
	}
}

// Nice sleeps took × the largest of the nice ratio, the pace the latency target sets and the pace
// replica lag sets as it nears max-lag-millis (lagPace), so that a chunk that took took is
// followed by a rest in proportion. It returns ctx's error if ctx ends first.
func (t *Throttler) Nice(ctx context.Context, took time.Duration) error {
	return t.rest(ctx, took, lagPace(t.Lag(), t.MaxLag()))
}

// NiceRead is Nice for a chunk that only read (the checksum before the swap): it rests by the nice
// ratio and the latency target, not by replica lag, which reads do not add to.
func (t *Throttler) NiceRead(ctx context.Context, took time.Duration) error {
	return t.rest(ctx, took, 0)
}

// rest waits took times the largest of the nice ratio, the latency target's pace and floor.
func (t *Throttler) rest(ctx context.Context, took time.Duration, floor float64) error {
	ratio := max(t.NiceRatio(), floor)
	if t.pace != nil {
		ratio = max(ratio, t.pace.next())
	}
	d := time.Duration(float64(took) * ratio)
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Lag is the largest lag measured in the last round of replica checks (0 without replicas). A
// replica that could not be measured is not in it; LagOK and Check account for it.
func (t *Throttler) Lag() time.Duration {
	var worst time.Duration
	for _, r := range *t.lags.Load() {
		if r.measured && r.lag > worst {
			worst = r.lag
		}
	}
	return worst
}

// ReplicaLags returns the lag last measured on each replica, by address; replicas not measured in
// the last round are left out.
func (t *Throttler) ReplicaLags() map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, r := range *t.lags.Load() {
		if r.measured {
			out[r.addr] = r.lag
		}
	}
	return out
}

// LagOK reports whether every replica was measured in the last round, replicates, and lags no more
// than max-lag-millis. The cut-over waits for it. Without replicas it is true.
func (t *Throttler) LagOK() bool {
	ok, _ := t.lagVerdict()
	return ok
}

// lagVerdict judges the last replica checks against the current list of replicas and
// max-lag-millis: a replica without a result (just added) counts as lagging.
func (t *Throttler) lagVerdict() (ok bool, reason string) {
	results := map[string]replicaLag{}
	for _, r := range *t.lags.Load() {
		results[r.addr] = r
	}
	maxLag := t.MaxLag()
	for _, c := range t.replicas() {
		r, found := results[c.Addr()]
		switch {
		case !found:
			return false, fmt.Sprintf("replica %s: lag not measured yet", c.Addr())
		case r.problem != "":
			return false, r.problem
		case r.lag > maxLag:
			return false, fmt.Sprintf("replica %s lags %.3fs, more than max-lag-millis %d", r.addr, r.lag.Seconds(), maxLag.Milliseconds())
		}
	}
	return true, ""
}

// SetMaxLag changes max-lag-millis; it applies to the last measurements at once.
func (t *Throttler) SetMaxLag(d time.Duration) error {
	if err := checkMaxLag(d); err != nil {
		return err
	}
	t.maxLag.Store(int64(d))
	if t.lags.Load() != nil {
		t.evalLag()
	}
	return nil
}

// MaxLag is the current max-lag-millis.
func (t *Throttler) MaxLag() time.Duration { return time.Duration(t.maxLag.Load()) }

// SetMaxLoad replaces the max-load thresholds ("Name=N,..."; empty for none), after checking
// that the primary has every variable. On error the old thresholds stay.
func (t *Throttler) SetMaxLoad(ctx context.Context, s string) error {
	l, err := ParseLoad(s)
	if err != nil {
		return err
	}
	if err := checkStatus(ctx, t.cfg.Primary, "max-load", l); err != nil {
		return err
	}
	t.maxLoad.Store(&l)
	wake(t.wakeLoad)
	return nil
}

// MaxLoad is the current max-load, in the form SetMaxLoad reads.
func (t *Throttler) MaxLoad() string { return t.maxLoad.Load().String() }

// SetCriticalLoad replaces the critical-load thresholds ("Name=N,..."; empty for none), after
// checking that the primary has every variable. On error the old thresholds stay.
func (t *Throttler) SetCriticalLoad(ctx context.Context, s string) error {
	l, err := ParseLoad(s)
	if err != nil {
		return err
	}
	if err := checkStatus(ctx, t.cfg.Primary, "critical-load", l); err != nil {
		return err
	}
	t.criticalLoad.Store(&l)
	wake(t.wakeLoad)
	return nil
}

// CriticalLoad is the current critical-load, in the form SetCriticalLoad reads.
func (t *Throttler) CriticalLoad() string { return t.criticalLoad.Load().String() }

// SetNiceRatio changes the nice ratio: 0 copies flat out, 1 rests as long as each chunk took.
func (t *Throttler) SetNiceRatio(r float64) error {
	if err := checkNiceRatio(r); err != nil {
		return err
	}
	t.niceRatio.Store(math.Float64bits(r))
	return nil
}

// NiceRatio is the current nice ratio.
func (t *Throttler) NiceRatio() float64 { return math.Float64frombits(t.niceRatio.Load()) }

// Pace is the rest the latency target sets after each chunk, as a multiple of the chunk's time (0
// without --max-commit-latency, or while commits are fast enough).
func (t *Throttler) Pace() float64 {
	if t.pace == nil {
		return 0
	}
	return t.pace.current()
}

// SetThrottleQuery replaces the throttle query, after checking it (CheckQuery) and trying it once
// on the primary; empty turns it off. On error the old query stays.
func (t *Throttler) SetThrottleQuery(ctx context.Context, q string) error {
	if err := CheckQuery(q); err != nil {
		return err
	}
	if err := t.tryQuery(ctx, q); err != nil {
		return err
	}
	t.query.Store(&q)
	if q == "" {
		t.set(sigQuery, false, "")
	}
	wake(t.wakeQuery)
	return nil
}

// ThrottleQuery is the current throttle query.
func (t *Throttler) ThrottleQuery() string { return *t.query.Load() }

// SetThrottleHTTP replaces the throttle URL; it must be http:// or https://. Empty turns it off.
func (t *Throttler) SetThrottleHTTP(u string) error {
	if err := checkURL(u); err != nil {
		return err
	}
	t.httpURL.Store(&u)
	if u == "" {
		t.set(sigHTTP, false, "")
	}
	wake(t.wakeHTTP)
	return nil
}

// checkURL accepts an http:// or https:// URL with a host, or "" (no check).
func checkURL(u string) error {
	if u == "" {
		return nil
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", u, err)
	}
	if (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL", u)
	}
	return nil
}

// ThrottleHTTP is the current throttle URL.
func (t *Throttler) ThrottleHTTP() string { return *t.httpURL.Load() }

// SetControlReplicas replaces the throttle-control replicas ("host[:port],..."; empty for none).
// The inspected replica is checked whatever the list says.
func (t *Throttler) SetControlReplicas(list string) error {
	replicas, err := ParseReplicas(list, t.cfg.ReplicaConn)
	if err != nil {
		return err
	}
	t.controlReplicas.Store(&replicas)
	if t.lags.Load() != nil {
		t.evalLag() // a replica added is lagging until measured
	}
	wake(t.wakeLag)
	return nil
}

// ControlReplicas is the current list of throttle-control replicas, as "host:port,...".
func (t *Throttler) ControlReplicas() string {
	replicas := *t.controlReplicas.Load()
	addrs := make([]string, len(replicas))
	for i, c := range replicas {
		addrs[i] = c.Addr()
	}
	return strings.Join(addrs, ",")
}

// SetUserThrottle turns the operator's throttle (the throttle and no-throttle commands) on or off.
func (t *Throttler) SetUserThrottle(on bool) {
	t.user.Store(on)
	t.set(sigUser, on, "commanded by user")
}

// UserThrottle reports whether the operator's throttle is on.
func (t *Throttler) UserThrottle() bool { return t.user.Load() }

// replicas are the servers whose lag counts: the inspected replica, then the control replicas.
func (t *Throttler) replicas() []dbconn.Config {
	var out []dbconn.Config
	seen := map[string]bool{}
	if t.cfg.Inspected != nil {
		out = append(out, *t.cfg.Inspected)
		seen[t.cfg.Inspected.Addr()] = true
	}
	for _, c := range *t.controlReplicas.Load() {
		if !seen[c.Addr()] {
			out = append(out, c)
			seen[c.Addr()] = true
		}
	}
	return out
}

// set records one signal's verdict and recombines the answer.
func (t *Throttler) set(sig signal, throttled bool, reason string) {
	if !throttled {
		reason = ""
	}
	t.slots[sig].Store(&verdict{throttled: throttled, sig: sig, reason: reason})
	t.mu.Lock()
	defer t.mu.Unlock()
	next := &verdict{}
	for i := range t.slots {
		if v := t.slots[i].Load(); v != nil && v.throttled {
			next = v
			break
		}
	}
	if *next == *t.state.Load() {
		return
	}
	t.state.Store(next)
	close(t.change)
	t.change = make(chan struct{})
	wake(t.notify)
}

// evalLag records the lag verdict for Check.
func (t *Throttler) evalLag() {
	t.lagMu.Lock()
	defer t.lagMu.Unlock()
	ok, reason := t.lagVerdict()
	t.set(sigLag, !ok, reason)
}

// HibernatingUntil is when the hibernation on critical load ends (--critical-load-hibernate-seconds),
// or the zero time when doppel is not hibernating.
func (t *Throttler) HibernatingUntil() time.Time {
	if !t.hibernating() {
		return time.Time{}
	}
	return time.Unix(0, t.hibernateUntil.Load())
}

func (t *Throttler) hibernating() bool {
	until := t.hibernateUntil.Load()
	return until != 0 && time.Now().UnixNano() < until
}

// every runs check at once, then interval after each run ends, or sooner when wake fires, until
// ctx ends. While doppel hibernates, checks are skipped. Only check's error ends the loop.
func (t *Throttler) every(ctx context.Context, interval time.Duration, wake <-chan struct{}, check func(context.Context) error) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-wake:
		}
		if !t.hibernating() {
			if err := check(ctx); err != nil {
				return err
			}
		}
		timer.Reset(interval)
	}
}

// reportChanges logs each change of the answer and calls OnChange, from one goroutine so that
// calls arrive in order and a slow callback never holds up Check.
func (t *Throttler) reportChanges(ctx context.Context) error {
	last := verdict{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.notify:
		}
		s := *t.state.Load()
		if s.throttled == last.throttled && (!s.throttled || s.sig == last.sig) {
			continue
		}
		last = s
		if s.throttled {
			t.log.Info("throttling", zap.String("reason", s.reason))
		} else {
			t.log.Info("throttling lifted")
		}
		if t.cfg.OnChange != nil {
			kind := ""
			if s.throttled {
				kind = s.sig.String()
			}
			t.cfg.OnChange(s.throttled, kind, s.reason)
		}
	}
}

// wake signals a poller without blocking; one pending signal is enough.
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// sleep waits d, or until ctx ends (then it returns false).
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
