package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPasswordHiddenFromTheProcessList runs the doppel binary with --password=… and
// --master-password … on the command line, against a server that accepts the connection and never
// answers, and reads /proc/<pid>/cmdline while doppel waits: the passwords are gone from it.
func TestPasswordHiddenFromTheProcessList(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc on this system")
	}
	bin := filepath.Join(t.TempDir(), "doppel")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building doppel: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepted, never answered: doppel waits for the handshake
		}
	}()
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	const secret, masterSecret = "Pw-S3cret-in-argv", "M4ster-S3cret"
	cmd := exec.Command(bin, "--host=127.0.0.1", "--port="+port, "--user=u", "--password="+secret, "--master-password", masterSecret,
		"--database=d", "--table=t", "--alter=ADD COLUMN x INT", "--mysql-timeout=20")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var cmdline string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		if cmdline = string(b); strings.Contains(cmdline, "--password=x") {
			break
		}
	}
	if strings.Contains(cmdline, secret) || strings.Contains(cmdline, masterSecret) {
		t.Errorf("a password is visible in /proc/<pid>/cmdline: %q", cmdline)
	}
	if !strings.Contains(cmdline, "--password="+strings.Repeat("x", len(secret))) || !strings.Contains(cmdline, strings.Repeat("x", len(masterSecret))) {
		t.Errorf("the arguments were not kept with the passwords masked: %q", cmdline)
	}
}

func TestHideSecretArgs(t *testing.T) {
	args := cloneArgs([]string{"--password=abc", "-password", "def", "--master-password=gh", "--user=root", "--password"})
	hideSecretArgs(args)
	want := []string{"--password=xxx", "-password", "xxx", "--master-password=xx", "--user=root", "--password"}
	if strings.Join(args, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", args, want)
	}
}
