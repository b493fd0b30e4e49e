package localtests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGhostCheatsheet runs the command lines of gh-ost's doc/cheatsheet.md (gh-ost 145799ee) with
// doppel on the sandbox: only the server's address, user and password, the replica list and the flag
// files' paths are this machine's; every other flag is as the cheatsheet writes it. "Connect to a
// replica" validates without --execute; "connect to the primary" migrates, and doppel creates the
// postpone flag file as gh-ost does, so the cut-over waits until the test removes it; "test on
// replica" rehearses on the replica and leaves its replication stopped, as gh-ost does (the test
// starts it again).
func TestGhostCheatsheet(t *testing.T) {
	bin := buildDoppel(t)
	schema := sb.NewDatabase(t)
	primary, err := sb.Primary.DB(schema)
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close()
	for _, q := range []string{
		"CREATE TABLE my_table (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL, n INT NULL)",
		"INSERT INTO my_table (name, n) SELECT CONCAT('row ', seq), seq FROM seq_1_to_20000",
	} {
		if _, err := primary.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := sb.WaitReplica(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	server := func(host string, port int) []string {
		return []string{"--user=" + sb.Primary.Config().User, "--password=", "--host=" + host, "--port=" + strconv.Itoa(port)}
	}
	replica, prim := sb.Replica.Config(), sb.Primary.Config()
	common := []string{
		"--max-load=Threads_running=25", "--critical-load=Threads_running=1000", "--chunk-size=1000",
		"--throttle-control-replicas=" + replica.Addr(), "--max-lag-millis=1500",
		"--database=" + schema, "--table=my_table", "--verbose", "--alter=engine=innodb", "--switch-to-rbr",
		"--allow-master-master", "--cut-over=default", "--exact-rowcount", "--concurrent-rowcount", "--default-retries=120",
		"--panic-flag-file=" + filepath.Join(dir, "ghost.panic.flag"), "--postpone-cut-over-flag-file=" + filepath.Join(dir, "ghost.postpone.flag"),
		"--serve-socket-file=" + filepath.Join(dir, "s.sock"), "--throttle-additional-flag-file=" + filepath.Join(dir, "none"),
	}
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, args...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// a. Connect to a replica, without --execute.
	if out, err := run(append(server(replica.Host, replica.Port), common...)...); err != nil {
		t.Fatalf("the cheatsheet's replica command line: %v\n%s", err, tail(out))
	}
	if _, err := os.Stat(filepath.Join(dir, "ghost.postpone.flag")); err == nil {
		t.Error("a run without --execute created the postpone flag file")
	}

	// b. Connect to the primary, with --execute: the postpone flag file holds the cut-over.
	done := make(chan error, 1)
	var out string
	go func() {
		var err error
		out, err = run(append(append(server(prim.Host, prim.Port), "--allow-on-master", "--execute"), common...)...)
		done <- err
	}()
	flag := filepath.Join(dir, "ghost.postpone.flag")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(flag); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("doppel did not create the postpone flag file")
		}
	}
	time.Sleep(2 * time.Second)
	var tables string
	if err := primary.QueryRow("SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", schema).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tables, "_my_table_del") {
		t.Fatalf("swapped while the postpone flag file exists: %s", tables)
	}
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the cheatsheet's primary command line: %v\n%s", err, tail(out))
	}
	if !strings.Contains(out, "migrated `"+schema+"`.`my_table`") {
		t.Errorf("no migration reported:\n%s", tail(out))
	}

	// c. Test on replica: a rehearsal on the replica, which leaves replication stopped.
	replicaAdmin, err := sb.Replica.DB("")
	if err != nil {
		t.Fatal(err)
	}
	defer replicaAdmin.Close()
	defer func() {
		// The next tests need the replica replicating, whatever happened here.
		_, _ = replicaAdmin.Exec("DROP TABLE IF EXISTS `" + schema + "`.`_my_table_gho`")
		_, _ = replicaAdmin.Exec("START SLAVE")
		_ = sb.WaitReplica(ctx)
	}()
	testOnReplica := append(server(replica.Host, replica.Port), "--test-on-replica", "--database="+schema, "--table=my_table", "--verbose",
		"--alter=engine=innodb", "--initially-drop-ghost-table", "--initially-drop-old-table", "--max-load=Threads_running=30", "--switch-to-rbr",
		"--chunk-size=500", "--cut-over=default", "--exact-rowcount", "--concurrent-rowcount", "--serve-socket-file="+filepath.Join(dir, "t.sock"),
		"--panic-flag-file="+filepath.Join(dir, "gh-ost.panic.flag"), "--execute")
	out, err = run(testOnReplica...)
	if err != nil || !strings.Contains(out, "rehearsal done") {
		t.Errorf("--test-on-replica: %v\n%s", err, tail(out))
	}
}
