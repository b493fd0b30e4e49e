package throttle

import (
	"strings"
	"testing"

	"github.com/doppel-sql/doppel/dbconn"
)

func TestParseLoad(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{name: "empty", in: "", want: ""},
		{name: "blank", in: "  ", want: ""},
		{name: "one", in: "Threads_running=25", want: "Threads_running=25"},
		{name: "two with spaces", in: " Threads_running = 25 , Threads_connected=500 ", want: "Threads_running=25,Threads_connected=500"},
		{name: "zero", in: "Threads_running=0", err: "a limit of 0 is always reached"},
		{name: "no equals", in: "Threads_running", err: "want Name=N"},
		{name: "no number", in: "Threads_running=", err: "not a whole number"},
		{name: "float", in: "Threads_running=2.5", err: "not a whole number"},
		{name: "negative", in: "Threads_running=-1", err: "not a whole number"},
		{name: "bad name", in: "Threads-running=1", err: "not a status variable name"},
		{name: "quote in name", in: "a'b=1", err: "not a status variable name"},
		{name: "empty entry", in: "Threads_running=1,,Threads_connected=2", err: "empty entry"},
		{name: "trailing comma", in: "Threads_running=1,", err: "empty entry"},
		{name: "twice", in: "Threads_running=1,threads_running=2", err: "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ParseLoad(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseLoad(%q) = %v, %v; want an error with %q", tc.in, l, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := l.String(); got != tc.want {
				t.Fatalf("ParseLoad(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestLoadExceeded(t *testing.T) {
	l, err := ParseLoad("Threads_running=25,Threads_connected=500")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		values       map[string]float64
		hit, missing string
	}{
		{"below", map[string]float64{"threads_running": 24, "threads_connected": 499}, "", ""},
		{"at the limit", map[string]float64{"threads_running": 25, "threads_connected": 1}, "Threads_running=25 >= 25", ""},
		{"second", map[string]float64{"threads_running": 1, "threads_connected": 501}, "Threads_connected=501 >= 500", ""},
		{"missing", map[string]float64{"threads_running": 1}, "", "Threads_connected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hit, missing := l.exceeded(tc.values)
			if hit != tc.hit || missing != tc.missing {
				t.Fatalf("exceeded = %q, %q; want %q, %q", hit, missing, tc.hit, tc.missing)
			}
		})
	}
}

func TestParseReplicas(t *testing.T) {
	conn := dbconn.Config{User: "u", Password: "p", Port: 3306}
	for _, tc := range []struct {
		name, in, want, err string
	}{
		{name: "empty", in: "", want: ""},
		{name: "hosts", in: "db1,db2:3307", want: "db1:3306,db2:3307"},
		{name: "spaces and duplicates", in: " db1 , db1:3306,10.0.0.1:3310", want: "db1:3306,10.0.0.1:3310"},
		{name: "ipv6", in: "[::1]:3307,::1,[fe80::1]", want: "[::1]:3307,[::1]:3306,[fe80::1]:3306"},
		{name: "bad port", in: "db1:x", err: "not a port"},
		{name: "port out of range", in: "db1:70000", err: "not a port"},
		{name: "empty port", in: "db1:", err: "not a port"},
		{name: "empty entry", in: "db1,,db2", err: "empty entry"},
		{name: "no host", in: ":3306", err: "no host"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseReplicas(tc.in, conn)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseReplicas(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var addrs []string
			for _, c := range got {
				if c.User != "u" || c.Password != "p" {
					t.Errorf("%s lost the credentials", c.Addr())
				}
				addrs = append(addrs, c.Addr())
			}
			if s := strings.Join(addrs, ","); s != tc.want {
				t.Fatalf("ParseReplicas(%q) = %q, want %q", tc.in, s, tc.want)
			}
		})
	}
}
