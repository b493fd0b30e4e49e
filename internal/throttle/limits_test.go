package throttle

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/internal/spell"
)

// TestConfigCheck: every setting is range-checked without a server, in the flag's unit, and
// several bad settings are reported together.
func TestConfigCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		wants []string // empty: valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"bounds", func(c *Config) {
			c.HeartbeatInterval, c.MaxLag = MaxHeartbeatInterval, MaxMaxLag
			c.CriticalLoadInterval, c.CriticalLoadHibernate = MaxCriticalLoadInterval, MaxCriticalLoadHibernate
			c.HTTPInterval, c.HTTPTimeout, c.NiceRatio = MaxHTTPInterval, MaxHTTPTimeout, MaxNiceRatio
		}, nil},
		{"lower bounds", func(c *Config) {
			c.HeartbeatInterval, c.MaxLag, c.HTTPInterval, c.HTTPTimeout = MinHeartbeatInterval, MinMaxLag, MinHTTPInterval, MinHTTPTimeout
		}, nil},
		{"heartbeat too short", func(c *Config) { c.HeartbeatInterval = time.Millisecond }, []string{"--heartbeat-interval-millis 1 is out of range: use 10 to 1000"}},
		{"heartbeat zero", func(c *Config) { c.HeartbeatInterval = 0 }, []string{"--heartbeat-interval-millis 0 is out of range"}},
		{"max lag zero", func(c *Config) { c.MaxLag = 0 }, []string{"--max-lag-millis 0 is out of range: use 100 to 31536000000"}},
		{"max lag huge", func(c *Config) { c.MaxLag = MaxMaxLag + time.Millisecond }, []string{"--max-lag-millis 31536000001 is out of range"}},
		{"critical interval negative", func(c *Config) { c.CriticalLoadInterval = -time.Millisecond }, []string{"--critical-load-interval-millis -1 is out of range: use 0 to 3600000"}},
		{"hibernate too long", func(c *Config) { c.CriticalLoadHibernate = 48 * time.Hour }, []string{"--critical-load-hibernate-seconds 172800 is out of range: use 0 to 86400"}},
		{"http interval zero", func(c *Config) { c.HTTPInterval = 0 }, []string{"--throttle-http-interval-millis 0 is out of range: use 10 to 3600000"}},
		{"http timeout negative", func(c *Config) { c.HTTPTimeout = -time.Second }, []string{"--throttle-http-timeout-millis -1000 is out of range: use 1 to 60000"}},
		{"load interval", func(c *Config) { c.LoadInterval = 0 }, []string{"the load check interval 0s must be positive"}},
		{"nice ratio", func(c *Config) { c.NiceRatio = 101 }, []string{"--nice-ratio 101 is out of range: use 0 to 100"}},
		{"nice ratio NaN", func(c *Config) { c.NiceRatio = math.NaN() }, []string{"--nice-ratio NaN is out of range"}},
		{"loads", func(c *Config) { c.MaxLoad, c.CriticalLoad = "Threads_running=0", "x" }, []string{
			`--max-load: "Threads_running=0": a limit of 0 is always reached`, `--critical-load: "x": want Name=N`,
		}},
		{"query", func(c *Config) { c.ThrottleQuery = "UPDATE t SET a = 1" }, []string{"--throttle-query: a UPDATE statement"}},
		{"url", func(c *Config) { c.ThrottleHTTP = "x" }, []string{`--throttle-http: "x" is not an http:// or https:// URL`}},
		{"replicas", func(c *Config) { c.ControlReplicas = "db1:0" }, []string{"--throttle-control-replicas: "}},
		{"all at once", func(c *Config) { c.MaxLag, c.HTTPInterval, c.NiceRatio = 1, 0, -1 }, []string{
			"--max-lag-millis 0 is out of range", "--throttle-http-interval-millis 0 is out of range", "--nice-ratio -1 is out of range",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Check()
			if len(tc.wants) == 0 {
				if err != nil {
					t.Fatalf("Check() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check() = nil, want %q", tc.wants)
			}
			for _, want := range tc.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Check() = %v, want it to contain %q", err, want)
				}
			}
			if got := len(strings.Split(err.Error(), "\n")); got != len(tc.wants) {
				t.Errorf("Check() reported %d problems, want %d: %v", got, len(tc.wants), err)
			}
		})
	}
}

func TestNearest(t *testing.T) {
	names := []string{"Threads_running", "Threads_connected", "Uptime", "Questions"}
	for _, tc := range []struct{ in, want string }{
		{"Thread_running", "Threads_running"},
		{"threads_runing", "Threads_running"},
		{"THREADS_CONNECTED", "Threads_connected"},
		{"Questionz", "Questions"},
		{"No_such_thing", ""},
		{"Up", ""},
	} {
		if got := spell.Nearest(tc.in, names, 2); got != tc.want {
			t.Errorf("spell.Nearest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
