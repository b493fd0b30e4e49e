package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doppel-sql/doppel/internal/sandbox"
)

var (
	sb       *sandbox.Sandbox
	tlsCerts certs // the servers accept TLS with these; see TestTLS
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	var err error
	if tlsCerts, err = makeCerts(); err != nil {
		fmt.Fprintln(os.Stderr, "making TLS certificates:", err)
		return 1
	}
	defer os.RemoveAll(tlsCerts.dir)
	return sandbox.Run(m, sandbox.Options{ExtraArgs: tlsCerts.serverArgs()}, &sb)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestCommandEndToEnd runs the doppel command against the sandbox with JSON logs, metrics and a
// postponed cut-over, steers it with doppel ctl, and checks every log line is valid JSON.
// newDatabase creates a database of the test's own on the primary, runs queries in it, and waits
// until the replica has them too. The pool is closed when the test ends.
func newDatabase(ctx context.Context, t *testing.T, queries ...string) (string, *sql.DB) {
	t.Helper()
	name := sb.NewDatabase(t)
	db, err := sb.Primary.DB(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, q := range queries {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
	return name, db
}

func TestCommandEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbName, _ := newDatabase(ctx, t,
		"CREATE TABLE `select` (id INT PRIMARY KEY, `we``ird col` VARCHAR(20))",
		"INSERT INTO `select` SELECT seq, CONCAT('v', seq) FROM seq_1_to_3000",
	)
	dir, err := os.MkdirTemp("", "dpl")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	socket, postpone := filepath.Join(dir, "s.sock"), filepath.Join(dir, "postpone")
	if err := os.WriteFile(postpone, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	metricsAddr := freeAddr(t)
	r := sb.Replica.Config()
	args := []string{
		"--host=" + r.Host, fmt.Sprintf("--port=%d", r.Port), "--user=root", "--database=" + dbName, "--table=select",
		"--alter=ADD COLUMN note VARCHAR(10) NULL", "--execute", "--log-format=json", "--status-interval=1s",
		"--serve-socket-file=" + socket, "--postpone-cut-over-flag-file=" + postpone, "--metrics-address=" + metricsAddr,
		"--throttle-additional-flag-file=",
	}
	var stdout, stderr lockedBuffer
	code := make(chan int, 1)
	go func() { code <- run(ctx, args, &stdout, &stderr) }()

	ctl := func(command string) (string, int) {
		var out, errOut bytes.Buffer
		c := runCtl(ctx, []string{"--socket", socket, command}, &out, &errOut)
		return out.String() + errOut.String(), c
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if out, c := ctl("sup"); c == 0 && strings.Contains(out, "state postponed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never postponed; stderr:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf(`doppel_state{database="%s",state="postponed",table="select"} 1`, dbName); !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s", want)
	}
	if out, c := ctl("chunk-size=5"); c != 1 || !strings.Contains(out, "ERROR") {
		t.Errorf("ctl chunk-size=5: exit %d, %q; want a refusal", c, out)
	}
	if out, c := ctl("unpostpone"); c != 0 {
		t.Fatalf("ctl unpostpone: exit %d, %q", c, out)
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit code %d; stderr:\n%s", c, stderr.String())
		}
	case <-ctx.Done():
		t.Fatal("doppel did not finish")
	}
	if !strings.Contains(stdout.String(), "migrated `"+dbName+"`.`select`") {
		t.Errorf("stdout: %s", stdout.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) < 5 {
		t.Fatalf("only %d log lines", len(lines))
	}
	for _, l := range lines {
		var entry map[string]any
		if err := json.Unmarshal([]byte(l), &entry); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", l, err)
		}
		if entry["level"] == nil || entry["msg"] == nil || entry["ts"] == nil {
			t.Errorf("log line lacks level, msg or ts: %q", l)
		}
	}
	if _, err := os.Stat(socket); !os.IsNotExist(err) {
		t.Errorf("the socket is still there: %v", err)
	}
}
