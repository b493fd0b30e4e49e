package localtests

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestNoSecretsInOutput runs a migration at --debug with a password on the command line, hooks for
// every event, metrics served, and writes during the copy whose values and statements are
// distinctive; then a run that fails on a row's value. Nothing doppel shows (its output, every
// hook's environment, the metrics) holds the password, a row's value or the text of a DML statement.
func TestNoSecretsInOutput(t *testing.T) {
	const password = "Pw-Scan-7f3a-secret"
	const rowMark = "ROWVAL-9c1e" // in every value written, and in the statements that write them
	bin := buildDoppel(t)
	schema := sb.NewDatabase(t)
	root, err := sb.Primary.DB(schema)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	user := "scan_" + strconv.Itoa(os.Getpid()%100000)
	for _, q := range []string{
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, password),
		fmt.Sprintf("GRANT ALL ON *.* TO '%s'@'%%'", user),
		"CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v VARCHAR(60) NOT NULL, d DATE NULL)",
		fmt.Sprintf("INSERT INTO t SELECT seq, CONCAT('%s-', seq), '2024-01-01' FROM seq_1_to_5000", rowMark),
	} {
		if _, err := root.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	defer func() { _, _ = root.Exec(fmt.Sprintf("DROP USER '%s'@'%%'", user)) }()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	hooks := filepath.Join(dir, "hooks")
	if err := os.Mkdir(hooks, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, event := range []string{"startup", "validated", "rowcount-complete", "before-row-copy", "status", "batch-copy-retry",
		"row-copy-complete", "before-cut-over", "success", "failure"} {
		script := "#!/bin/sh\nenv > \"" + filepath.Join(dir, "env-"+event) + "\"\n"
		if err := os.WriteFile(filepath.Join(hooks, "gh-ost-on-"+event), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := l.Addr().String()
	l.Close()
	replica := sb.Replica.Config()
	args := func(alter string) []string {
		return []string{"--host=" + replica.Host, "--port=" + strconv.Itoa(replica.Port), "--user=" + user, "--password=" + password,
			"--database=" + schema, "--table=t", "--alter=" + alter, "--execute", "--debug", "--chunk-size=100",
			"--hooks-path=" + hooks, "--hooks-status-interval=1", "--metrics-address=" + metricsAddr,
			"--serve-socket-file=" + filepath.Join(dir, "s.sock"), "--throttle-additional-flag-file=" + filepath.Join(dir, "none"),
			"--replica-server-id=3901"}
	}

	// Writes during the migration: distinctive values, and statements that carry them.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if _, err := root.Exec(fmt.Sprintf("UPDATE t SET v = '%s-upd-%d' WHERE id = %d", rowMark, i, 1+i%5000)); err != nil {
				t.Errorf("writing: %v", err)
				return
			}
		}
	}()
	var metricsText strings.Builder
	scraped := make(chan struct{})
	go func() {
		defer close(scraped)
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			resp, err := http.Get("http://" + metricsAddr + "/metrics")
			if err != nil {
				select {
				case <-stop:
					return
				default:
					continue
				}
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			metricsText.Reset()
			metricsText.Write(b)
		}
	}()
	out, err := exec.CommandContext(ctx, bin, args("ADD COLUMN x INT NULL")...).CombinedOutput()
	close(stop)
	wg.Wait()
	<-scraped
	if err != nil {
		t.Fatalf("the migration failed: %v\n%s", err, tail(string(out)))
	}
	if !strings.Contains(string(out), "DEBUG") || !strings.Contains(string(out), "migrated `"+schema+"`.`t`") {
		t.Errorf("no debug log or no migration in the output:\n%s", tail(string(out)))
	}
	outputs := map[string]string{"doppel's output": string(out), "the metrics": metricsText.String()}
	if metricsText.Len() == 0 {
		t.Error("no metrics were scraped")
	}

	// A run that fails on a row's value: the refusal names the rows, not their values.
	if _, err := root.Exec(fmt.Sprintf("UPDATE t SET v = '%s-not-a-date' WHERE id = 7", rowMark)); err != nil {
		t.Fatal(err)
	}
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
	failed, err := exec.CommandContext(ctx, bin, args("MODIFY v DATE NULL")...).CombinedOutput()
	if err == nil {
		t.Fatalf("a DATE column over text did not fail:\n%s", tail(string(failed)))
	}
	outputs["the failed run's output"] = string(failed)

	envs, _ := filepath.Glob(filepath.Join(dir, "env-*"))
	if len(envs) < 5 {
		t.Errorf("only %d hooks ran", len(envs))
	}
	for _, p := range envs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		outputs["the environment of hook "+filepath.Base(p)] = string(b)
	}
	for where, text := range outputs {
		for _, secret := range []string{password, rowMark, "UPDATE t SET"} {
			if i := strings.Index(text, secret); i >= 0 {
				t.Errorf("%s holds %q: …%s…", where, secret, text[max(0, i-200):min(len(text), i+100)])
			}
		}
	}
}
