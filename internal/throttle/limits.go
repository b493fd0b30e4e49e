package throttle

import (
	"errors"
	"fmt"
	"time"
)

// The values the settings accept. A bound is what doppel can measure or act on, or where a larger
// value stops meaning anything; docs/flags.md gives each reason.
const (
	// MinMaxLag is the smallest --max-lag-millis, as in gh-ost: below it the heartbeat interval
	// itself would throttle.
	MinMaxLag = 100 * time.Millisecond
	// MaxMaxLag is a year: any lag above it is no limit at all, and larger values overflow.
	MaxMaxLag = 365 * 24 * time.Hour
	// MinHeartbeatInterval and MaxHeartbeatInterval bound --heartbeat-interval-millis: lag is
	// measured to the heartbeat interval, and --max-lag-millis starts at 100 ms.
	MinHeartbeatInterval = 10 * time.Millisecond
	MaxHeartbeatInterval = time.Second
	// MaxCriticalLoadInterval bounds --critical-load-interval-millis: a second look more than an
	// hour later is about another load.
	MaxCriticalLoadInterval = time.Hour
	// MaxCriticalLoadHibernate bounds --critical-load-hibernate-seconds: while hibernating doppel
	// reads no binlog, and a day is longer than many servers keep theirs.
	MaxCriticalLoadHibernate = 24 * time.Hour
	// MinHTTPInterval and MaxHTTPInterval bound --throttle-http-interval-millis.
	MinHTTPInterval = 10 * time.Millisecond
	MaxHTTPInterval = time.Hour
	// MinHTTPTimeout and MaxHTTPTimeout bound --throttle-http-timeout-millis.
	MinHTTPTimeout = time.Millisecond
	MaxHTTPTimeout = time.Minute
	// MaxNiceRatio is gh-ost's upper bound of --nice-ratio.
	MaxNiceRatio = 100.0
)

// Check reports every setting of c that is out of range or malformed, all at once, in the flags'
// words. It needs no server: a Config that passes can still name a status variable the server
// does not have or a query it refuses, which Preflight finds. Connections and callbacks are not
// checked here; New requires them.
func (c Config) Check() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(inRange("--heartbeat-interval-millis", c.HeartbeatInterval, MinHeartbeatInterval, MaxHeartbeatInterval, time.Millisecond))
	add(inRange("--max-lag-millis", c.MaxLag, MinMaxLag, MaxMaxLag, time.Millisecond))
	add(inRange("--critical-load-interval-millis", c.CriticalLoadInterval, 0, MaxCriticalLoadInterval, time.Millisecond))
	add(inRange("--critical-load-hibernate-seconds", c.CriticalLoadHibernate, 0, MaxCriticalLoadHibernate, time.Second))
	add(inRange("--throttle-http-interval-millis", c.HTTPInterval, MinHTTPInterval, MaxHTTPInterval, time.Millisecond))
	add(inRange("--throttle-http-timeout-millis", c.HTTPTimeout, MinHTTPTimeout, MaxHTTPTimeout, time.Millisecond))
	if c.LoadInterval <= 0 {
		add(fmt.Errorf("throttle: the load check interval %s must be positive", c.LoadInterval))
	}
	add(checkNiceRatio(c.NiceRatio))
	add(inRange("--max-commit-latency", c.MaxCommitLatency, 0, MaxCommitLatencyLimit, time.Millisecond))
	for _, l := range []struct{ flag, value string }{{"--max-load", c.MaxLoad}, {"--critical-load", c.CriticalLoad}} {
		if _, err := ParseLoad(l.value); err != nil {
			add(fmt.Errorf("%s: %w", l.flag, err))
		}
	}
	if err := CheckQuery(c.ThrottleQuery); err != nil {
		add(fmt.Errorf("--throttle-query: %w", err))
	}
	if err := checkURL(c.ThrottleHTTP); err != nil {
		add(fmt.Errorf("--throttle-http: %w", err))
	}
	if _, err := ParseReplicas(c.ControlReplicas, c.ReplicaConn); err != nil {
		add(fmt.Errorf("--throttle-control-replicas: %w", err))
	}
	return errors.Join(errs...)
}

// inRange checks that d lies in [lo, hi] and otherwise says so in the flag's unit.
func inRange(flag string, d, lo, hi, unit time.Duration) error {
	if d >= lo && d <= hi {
		return nil
	}
	return fmt.Errorf("%s %d is out of range: use %d to %d", flag, d/unit, lo/unit, hi/unit)
}

// checkNiceRatio refuses NaN too: it fails both comparisons.
func checkNiceRatio(r float64) error {
	if r >= 0 && r <= MaxNiceRatio {
		return nil
	}
	return fmt.Errorf("--nice-ratio %v is out of range: use 0 to %v", r, MaxNiceRatio)
}

// checkMaxLag is inRange for --max-lag-millis, also used when it is changed at run time.
func checkMaxLag(d time.Duration) error {
	return inRange("--max-lag-millis", d, MinMaxLag, MaxMaxLag, time.Millisecond)
}
