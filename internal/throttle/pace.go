package throttle

import (
	"slices"
	"sync"
	"time"
)

// The latency target (--max-commit-latency) paces the copy by the primary's commit latency, as the
// application feels it: each heartbeat doppel writes is a one-row transaction committed with the
// server's durability (redo log and binlog flushed when the server says so), timed by the heartbeat
// writer. After each chunk the copy rests a multiple of the chunk's time, the pace: it grows quickly
// while the recent commits are slower than the target and shrinks slowly once they are well under
// it. A pause would let the application's queue drain but start again at full speed; a rest in
// proportion keeps the copy going at the rate the server can take beside its load. The copier also
// shortens its chunks by the pace (copier.Config.TargetScale).
const (
	// paceWindow is how many recent heartbeat commits the pace looks at: a second at the default
	// heartbeat interval.
	paceWindow = 10
	// paceQuantile of the window is compared with the target: its p90, so that one slow commit
	// among ten does not slow the copy, two do.
	paceQuantile = 0.9
	// maxPace bounds the rest: ten times the chunk's time, the copy at a tenth of its speed.
	maxPace = 10.0
	// paceStart is the first step up from no rest.
	paceStart = 0.25
	// paceEase is below what fraction of the target the pace eases off.
	paceEase = 0.7
	// MaxCommitLatencyLimit bounds --max-commit-latency: a commit slower than a minute is an outage,
	// not a load to pace against.
	MaxCommitLatencyLimit = time.Minute
)

// pacer holds the recent commit latencies and the current pace.
type pacer struct {
	target time.Duration
	mu     sync.Mutex
	recent []time.Duration // the last paceWindow commits, oldest first
	pace   float64
}

func newPacer(target time.Duration) *pacer {
	return &pacer{target: target}
}

// observe records one heartbeat commit's latency.
func (p *pacer) observe(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.recent = append(p.recent, d)
	if len(p.recent) > paceWindow {
		p.recent = p.recent[len(p.recent)-paceWindow:]
	}
}

// next moves the pace by the recent commits' latency and returns it: the rest after a chunk, as a
// multiple of the chunk's time. Called once per chunk.
func (p *pacer) next() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.recent) == 0 {
		return p.pace
	}
	p.pace = adjustPace(p.pace, quantile(p.recent, paceQuantile), p.target)
	return p.pace
}

// current is the pace without moving it.
func (p *pacer) current() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pace
}

// adjustPace is one step of the pace: doubled (from paceStart) while observed is above target,
// eased by a quarter while it is under paceEase of it, and kept in between, so that it settles
// instead of swinging; within [0, maxPace], and 0 once it is too small to matter.
func adjustPace(pace float64, observed, target time.Duration) float64 {
	switch {
	case observed > target:
		pace = max(pace*2, paceStart)
	case float64(observed) < paceEase*float64(target):
		pace *= 0.75
	}
	if pace < 0.05 {
		return 0
	}
	return min(pace, maxPace)
}

// quantile is the q-quantile of ds by the nearest rank below.
func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s)-1)+0.5))]
}

// The lag pace slows the copy down as a replica's lag nears --max-lag-millis, instead of copying
// flat out until it is reached. A replica that applies more slowly than the primary writes keeps
// falling behind after the throttle stops the copy: it still has to apply everything queued
// before, up to max-lag-millis of the primary's writes. Stopping at the limit let the lag
// overshoot it (to twice the limit under load, in the bench); resting earlier keeps the queue short.
const (
	// lagPaceFrom is the fraction of max-lag-millis from which the copy rests.
	lagPaceFrom = 0.5
	// lagPaceMax is the rest at max-lag-millis, as a multiple of a chunk's time: the copy at a
	// fifth of its speed just before the throttle stops it.
	lagPaceMax = 4.0
)

// lagPace is the rest after a chunk that writes, as a multiple of its time, for replica lag lag
// under the limit maxLag: none up to lagPaceFrom of it, then rising linearly to lagPaceMax at it.
func lagPace(lag, maxLag time.Duration) float64 {
	from := time.Duration(lagPaceFrom * float64(maxLag))
	if maxLag <= 0 || lag <= from {
		return 0
	}
	return min(float64(lag-from)/float64(maxLag-from), 1) * lagPaceMax
}
