package migration

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/metrics"
)

// TestGrafanaDashboardOnRealPrometheus starts a real Prometheus (Debian's prometheus package;
// .ci/run installs it) scraping doppel every second during a sandbox migration under writes, then
// evaluates every query of docs/grafana-dashboard.json through Prometheus's HTTP API over the
// migration's time range: each must return at least one number. A panel whose query names a
// metric doppel does not export, or mislabels one, returns nothing and fails the test.
func TestGrafanaDashboardOnRealPrometheus(t *testing.T) {
	bin, err := osexec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (apt-get install prometheus; .ci/run installs it)")
	}
	queries := dashboardQueries(t)

	reg := metrics.NewRegistry()
	srv, err := metrics.Listen("127.0.0.1:0", reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	defer func() { cancel(); _ = <-served }()
	prom := startPrometheus(t, bin, srv.Addr().String())

	var dbName string
	begin := time.Now()
	o := startOperated(t, 50000, "ADD INDEX (n)", func(c *Config) {
		dbName = c.Database
		m, err := metrics.New(reg, c.Database, c.Table, States()...)
		if err != nil {
			t.Fatal(err)
		}
		c.Metrics = m
		c.ChunkTarget = 0
		c.Throttle.NiceRatio = 4 // a copy of several seconds: several scrapes see it move
	})
	// Throttled for a few scrapes (the flag file of startOperated), then free.
	time.Sleep(3 * time.Second)
	o.mustSend("chunk-size=100")
	stopWrites := writeWhile(t, o.db)
	if err := os.Remove(o.flag); err != nil {
		t.Fatal(err)
	}
	if err := o.wait(); err != nil {
		t.Fatal(err)
	}
	stopWrites()
	time.Sleep(3 * time.Second) // the last values scraped
	end := time.Now()

	for title, exprs := range queries {
		for _, expr := range exprs {
			q := strings.NewReplacer(`$database`, dbName, `$table`, "t", `$__rate_interval`, "5s").Replace(expr)
			if n := prom.numbers(t, q, begin, end); n == 0 {
				t.Errorf("panel %q: %s returned no number over the migration", title, q)
			}
		}
	}
}

// dashboardQueries returns every panel's queries by title.
func dashboardQueries(t *testing.T) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			out[p.Title] = append(out[p.Title], tg.Expr)
		}
	}
	if len(out) < 15 {
		t.Fatalf("only %d panels with queries in the dashboard", len(out))
	}
	return out
}

// writeWhile writes to t (inserts, updates, deletes) until the returned function is called, so the
// binlog panels have events.
func writeWhile(t *testing.T, db *sql.DB) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for i := 1; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			for _, q := range []string{
				fmt.Sprintf("INSERT INTO t VALUES (%d, 'w', 1)", 100000+i),
				fmt.Sprintf("UPDATE t SET n = n + 1 WHERE id = %d", 1+i%20000),
				fmt.Sprintf("DELETE FROM t WHERE id = %d", 100000+i-1),
			} {
				if _, err := db.Exec(q); err != nil {
					t.Errorf("writing during the migration: %v", err)
					return
				}
			}
		}
	}()
	return func() { close(done); <-ended }
}

type prometheus struct{ base string }

// startPrometheus runs prometheus scraping target every second, with its data in a temporary
// directory; it is stopped (by its PID) when the test ends.
func startPrometheus(t *testing.T, bin, target string) prometheus {
	t.Helper()
	dir := t.TempDir()
	config := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: doppel\n    static_configs:\n      - targets: ['%s']\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := osexec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	logs, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logs.Close()
	})
	p := prometheus{base: "http://" + addr}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(p.base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logs.Name())
			t.Fatalf("prometheus did not become ready: %v\n%s", err, out)
		}
	}
}

// numbers evaluates query over [begin, end] every second and counts the finite numbers returned.
func (p prometheus) numbers(t *testing.T, query string, begin, end time.Time) int {
	t.Helper()
	v := url.Values{}
	v.Set("query", query)
	v.Set("start", strconv.FormatInt(begin.Unix(), 10))
	v.Set("end", strconv.FormatInt(end.Unix()+1, 10))
	v.Set("step", "1")
	resp, err := http.Get(p.base + "/api/v1/query_range?" + v.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
		t.Errorf("%s: %v %s %s", query, err, r.Error, body)
		return 0
	}
	n := 0
	for _, series := range r.Data.Result {
		for _, pair := range series.Values {
			s, _ := pair[1].(string)
			if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				n++
			}
		}
	}
	return n
}
