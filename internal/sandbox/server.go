package sandbox

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/doppel-sql/doppel/dbconn"
)

// Server is one running mysqld/mariadbd of a sandbox. Root connects over TCP with an empty password.
type Server struct {
	Name    string
	DataDir string
	port    int
	args    []string
	bin     string

	mu   sync.Mutex
	proc *os.Process
	done chan struct{} // closed when proc has exited
}

type serverSpec struct {
	name     string
	serverID int
	bin      string
	kind     kind
	template string
	root     string
	opts     Options
}

// Config returns how to connect to the server as root.
func (s *Server) Config() dbconn.Config {
	return dbconn.Config{Host: "127.0.0.1", Port: s.port, User: "root"}
}

// DB opens a pool on the server with doppel's session settings; database may be empty.
func (s *Server) DB(database string) (*sql.DB, error) {
	return dbconn.Open(s.Config(), database)
}

// PID is the server's process id, 0 when it is not running.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.Pid
}

func startServer(ctx context.Context, spec serverSpec) (*Server, error) {
	dataDir := filepath.Join(spec.root, spec.name)
	if err := copyDir(spec.template, dataDir); err != nil {
		return nil, fmt.Errorf("preparing the %s data directory: %w", spec.name, err)
	}
	if err := os.Mkdir(tmpDir(spec), 0o700); err != nil {
		return nil, fmt.Errorf("preparing the %s temporary directory: %w", spec.name, err)
	}
	// A free port can be taken by someone else between our check and the server's bind: try again.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &Server{Name: spec.name, DataDir: dataDir, port: port, bin: spec.bin, args: serverArgs(spec, dataDir, port)}
		if lastErr = s.start(ctx); lastErr == nil {
			return s, nil
		}
	}
	return nil, lastErr
}

func serverArgs(spec serverSpec, dataDir string, port int) []string {
	bufferPool := spec.opts.BufferPool
	if bufferPool == "" {
		bufferPool = "128M"
	}
	args := []string{
		"--no-defaults",
		"--datadir=" + dataDir,
		"--port=" + strconv.Itoa(port),
		"--bind-address=127.0.0.1",
		"--socket=" + filepath.Join(dataDir, "mysqld.sock"),
		"--pid-file=" + filepath.Join(dataDir, "mysqld.pid"),
		"--log-error=" + filepath.Join(dataDir, "error.log"),
		// Each server its own temporary directory: a server starting removes every #sql* file
		// of its tmpdir, and in a shared /tmp those are the internal temporary tables of the
		// other servers running (MariaDB then fails their queries, or crashes dropping them).
		"--tmpdir=" + tmpDir(spec),
		"--server-id=" + strconv.Itoa(spec.serverID),
		"--log-bin=binlog",
		"--binlog-format=ROW",
		"--binlog-row-image=FULL",
		"--innodb-buffer-pool-size=" + bufferPool,
		// A throwaway server: durability traded for speed.
		"--innodb-flush-log-at-trx-commit=2",
		"--sync-binlog=0",
		"--max-connections=500",
		"--character-set-server=utf8mb4",
	}
	if spec.kind.mariadb {
		args = append(args, "--log-slave-updates", "--skip-name-resolve")
	} else {
		// MySQL's X plugin would listen on 33060 in every sandbox; the root account created by
		// --initialize-insecure is root@localhost, so names must resolve.
		args = append(args, "--mysqlx=OFF")
		if spec.kind.version.AtLeast(8, 0, 26) {
			args = append(args, "--log-replica-updates")
		} else {
			args = append(args, "--log-slave-updates")
		}
	}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	return append(args, spec.opts.ExtraArgs...)
}

// tmpDir is the server's temporary directory, next to its data directory.
func tmpDir(spec serverSpec) string { return filepath.Join(spec.root, spec.name+"-tmp") }

// start runs the server process and waits until it accepts connections.
func (s *Server) start(ctx context.Context) error {
	started := make(chan error, 1)
	done := make(chan struct{})
	var stderr bytes.Buffer
	go func() {
		// The process gets SIGKILL when the thread that started it exits (Pdeathsig). Keeping this
		// goroutine on its thread until the server exits means: the server lives exactly as long as
		// the process that started it, even if that process crashes.
		runtime.LockOSThread()
		cmd := exec.Command(s.bin, s.args...)
		cmd.Stdout = &stderr
		cmd.Stderr = &stderr
		cmd.SysProcAttr = procAttr()
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("starting %s: %w", s.bin, err)
			close(done)
			return
		}
		s.mu.Lock()
		s.proc = cmd.Process
		s.done = done
		s.mu.Unlock()
		started <- nil
		_ = cmd.Wait()
		close(done)
	}()
	if err := <-started; err != nil {
		return err
	}
	err := waitFor(ctx, 90*time.Second, func() (bool, error) {
		select {
		case <-done:
			return false, fmt.Errorf("the %s server exited during start-up: %s%s", s.Name, stderr.String(), s.errorLogTail())
		default:
		}
		db, err := s.DB("")
		if err != nil {
			return false, err
		}
		defer db.Close()
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return db.PingContext(pctx) == nil, nil
	})
	if err != nil {
		_ = s.Stop()
		return err
	}
	return nil
}

func (s *Server) errorLogTail() string {
	b, err := os.ReadFile(filepath.Join(s.DataDir, "error.log"))
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "\nerror log:\n" + string(b)
}

// Stop shuts the server down cleanly (SIGTERM), or kills it after 60 s. Safe to call when stopped.
func (s *Server) Stop() error {
	return s.signalAndWait(syscall.SIGTERM, 60*time.Second)
}

// Kill ends the server at once, like a crash (SIGKILL).
func (s *Server) Kill() error {
	return s.signalAndWait(syscall.SIGKILL, 30*time.Second)
}

func (s *Server) signalAndWait(sig syscall.Signal, grace time.Duration) error {
	s.mu.Lock()
	proc, done := s.proc, s.done
	s.proc = nil
	s.mu.Unlock()
	if proc == nil {
		return nil
	}
	select {
	case <-done:
		// Nobody asked it to stop: the server crashed. Its log says why; the data directory is
		// removed after this, so the tail is all that is left of it.
		return fmt.Errorf("the %s server (pid %d) had exited on its own, before it was stopped%s", s.Name, proc.Pid, s.errorLogTail())
	default:
	}
	if err := proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signalling the %s server (pid %d): %w", s.Name, proc.Pid, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(grace):
	}
	_ = proc.Kill()
	<-done
	return fmt.Errorf("the %s server (pid %d) did not stop within %s and was killed", s.Name, proc.Pid, grace)
}

// Restart stops the server cleanly and starts it again on the same port and data directory.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Start(ctx)
}

// Start starts a stopped server again (after Stop or Kill) on its port and data directory.
func (s *Server) Start(ctx context.Context) error {
	if s.PID() != 0 {
		return fmt.Errorf("the %s server is already running", s.Name)
	}
	return s.start(ctx)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
