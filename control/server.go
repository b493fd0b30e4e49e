// Package control serves gh-ost's interactive commands on a Unix socket (and optionally a loopback
// TCP port), so operators can watch and steer a running migration: echo status | nc -U <socket>, or
// doppel ctl. Each connection carries one command line and gets one answer, after which the server
// closes it. Errors are answered as "ERROR: ..." lines.
//
// The package owns the commands: their names, aliases, help and the syntax of their values. What
// they do is up to the Handlers the migration gives, one per command.
package control

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// Config configures a Server. SocketPath or TCPAddr, or both, must be set.
type Config struct {
	// SocketPath is --serve-socket-file. The socket is created with mode 0600 and removed by Serve's
	// end. A stale socket file there is replaced; a live server there makes Listen fail.
	SocketPath string
	// TCPAddr, from --serve-tcp-port, is a loopback address such as 127.0.0.1:10001 (port 0: any
	// free port). The socket file's mode protects the Unix socket; any local user can reach the port.
	TCPAddr string
	// Table is the migrated table: throttle=T, no-throttle=T, unpostpone=T and panic=T act only when
	// T names it, so a command meant for another migration is refused.
	Table string
	// ForceNamedCutOver and ForceNamedPanic (gh-ost's --force-named-cut-over, --force-named-panic)
	// refuse unpostpone and panic unless they name the table: unpostpone=T, panic=T.
	ForceNamedCutOver, ForceNamedPanic bool
	// DropLiveSocket (gh-ost's --initially-drop-socket-file) takes SocketPath over even from a
	// process still serving there.
	DropLiveSocket bool
	Handlers       Handlers
	// BeforeCommand, when set, is called with every command line before it runs (the
	// on-interactive-command hook); an error refuses the command.
	BeforeCommand func(ctx context.Context, command string) error
	// ReadTimeout bounds how long a client may take to send its command; default 10s.
	ReadTimeout time.Duration
	Logger      *zap.Logger // nil: no logs
}

const (
	// maxLine is the longest command accepted; the longest real one is a throttle query.
	maxLine = 64 << 10
	// writeTimeout bounds sending an answer to a client that does not read it.
	writeTimeout = 10 * time.Second
	// drainTimeout bounds waiting, after the answer, for the client to close its side.
	drainTimeout = time.Second
	// shutdownGrace bounds how long commands already running may take to answer at shutdown.
	shutdownGrace = 3 * time.Second
)

// Server is a listening control server.
type Server struct {
	cfg       Config
	log       *zap.Logger
	listeners []net.Listener
	socket    *socketFile // nil without SocketPath

	closeOnce sync.Once
	closeErr  error
	mu        sync.Mutex
	closed    bool
	conns     map[net.Conn]bool // open connections; true once their command runs
	handlers  sync.WaitGroup
}

// Listen creates the socket and the TCP listener, so that a path in use fails before the
// migration starts. Serve then answers commands; Close releases everything if Serve never runs.
func Listen(cfg Config) (*Server, error) {
	if err := cfg.Handlers.Check(); err != nil {
		return nil, err
	}
	if cfg.SocketPath == "" && cfg.TCPAddr == "" {
		return nil, errors.New("control: a socket path or a TCP address is required")
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, conns: map[net.Conn]bool{}}
	if cfg.SocketPath != "" && filepath.Dir(cfg.SocketPath) == DefaultSocketDir() {
		if err := ensurePrivateDir(DefaultSocketDir()); err != nil {
			return nil, err
		}
	}
	if cfg.SocketPath != "" {
		sock, l, err := listenUnix(cfg.SocketPath, cfg.DropLiveSocket, s.log)
		if err != nil {
			return nil, err
		}
		s.socket = sock
		s.listeners = append(s.listeners, l)
		s.log.Info("serving interactive commands", zap.String("socket", cfg.SocketPath))
	}
	if cfg.TCPAddr != "" {
		l, err := listenLoopback(cfg.TCPAddr)
		if err != nil {
			_ = s.Close()
			return nil, err
		}
		s.listeners = append(s.listeners, l)
		s.log.Info("serving interactive commands", zap.String("tcp", l.Addr().String()))
	}
	return s, nil
}

func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("control TCP address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("control TCP address %q is not a loopback address: doppel serves commands to this host only", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for commands on %s: %w", addr, err)
	}
	return l, nil
}

// TCPAddr is the address the TCP listener is bound to ("" without one): the port chosen for
// port 0.
func (s *Server) TCPAddr() string {
	for _, l := range s.listeners {
		if l.Addr().Network() == "tcp" {
			return l.Addr().String()
		}
	}
	return ""
}

// Serve answers commands until ctx ends. Then it stops listening, closes connections that have
// not sent a command, gives commands already running shutdownGrace to answer (the answer to panic
// is what ends ctx), closes the rest and removes the socket file. It returns nil unless the socket
// file could not be removed; a failing accept is logged and retried, never a reason to stop the
// migration.
func (s *Server) Serve(ctx context.Context) error {
	var g errgroup.Group
	for _, l := range s.listeners {
		g.Go(func() error {
			s.accept(ctx, l)
			return nil
		})
	}
	<-ctx.Done()
	s.stopListening(false)
	_ = g.Wait() // accept loops end once their listener is closed
	answered := make(chan struct{})
	go func() {
		s.handlers.Wait()
		close(answered)
	}()
	select {
	case <-answered:
	case <-time.After(shutdownGrace):
		s.stopListening(true)
		<-answered
	}
	return s.Close()
}

// Close stops listening, closes every connection and removes the socket file. It is safe to call
// more than once and together with Serve.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stopListening(true)
		if s.socket != nil {
			s.closeErr = s.socket.remove()
		}
	})
	return s.closeErr
}

// stopListening closes the listeners and the connections still waiting for their command, or all
// connections with all.
func (s *Server) stopListening(all bool) {
	s.mu.Lock()
	s.closed = true
	for c, running := range s.conns {
		if all || !running {
			_ = c.Close()
		}
	}
	s.mu.Unlock()
	for _, l := range s.listeners {
		_ = l.Close()
	}
}

func (s *Server) accept(ctx context.Context, l net.Listener) {
	for {
		conn, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors, most likely: wait for some to be released.
			s.log.Warn("cannot accept a control connection", zap.Error(err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if !s.track(conn) {
			_ = conn.Close()
			return
		}
		s.handlers.Go(func() {
			defer s.untrack(conn)
			s.handle(ctx, conn)
		})
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = false
	return true
}

// running marks c's command as running, so that shutdown lets it answer; false when the server is
// already shutting down.
func (s *Server) running(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = true
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	_ = c.Close()
}

// handle reads one command line and answers it. A line may end with \n or with the end of the
// client's writing (printf status | nc -U ...).
func (s *Server) handle(ctx context.Context, conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
	line, err := bufio.NewReader(io.LimitReader(conn, maxLine+1)).ReadString('\n')
	if !s.running(conn) {
		return
	}
	var answer string
	switch {
	case len(line) > maxLine:
		answer = errorLine(fmt.Sprintf("command longer than %d bytes", maxLine))
	case err == nil || errors.Is(err, io.EOF) && line != "":
		answer = s.execute(ctx, line)
	default:
		return // nothing sent, timed out, or the server is closing
	}
	_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := io.WriteString(conn, answer); err != nil {
		s.log.Debug("cannot send the answer to a control command", zap.Error(err))
		return
	}
	// Closing a connection with unread input resets it, and the client may lose the answer: end
	// the answer first, then discard what else the client sends until it closes its side.
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		_ = conn.SetReadDeadline(time.Now().Add(drainTimeout))
		_, _ = io.CopyN(io.Discard, conn, maxLine)
	}
}

// execute runs one command line and returns the answer, always ending in a newline.
func (s *Server) execute(ctx context.Context, line string) string {
	line = strings.TrimSpace(line)
	if line == "" {
		return errorLine("empty command; send help for the list of commands")
	}
	if s.cfg.BeforeCommand != nil {
		if err := s.cfg.BeforeCommand(ctx, line); err != nil {
			s.log.Warn("a hook refused an interactive command", zap.String("command", line), zap.Error(err))
			return errorLine(fmt.Sprintf("%s refused: %v", firstWord(line), err))
		}
	}
	name, arg, hasArg := strings.Cut(line, "=")
	name, arg = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(arg)
	cmd, ok := lookup(name)
	if !ok {
		return errorLine(fmt.Sprintf("unknown command %q; send help for the list of commands", clip(name)))
	}
	answer, changed, err := s.run(cmd, arg, hasArg)
	if err != nil {
		s.log.Info("interactive command refused", zap.String("command", line), zap.Error(err))
		return errorLine(err.Error())
	}
	if changed {
		s.log.Info("interactive command", zap.String("command", line))
	}
	return withNewline(answer)
}

// run answers cmd, as its handler's kind says; changed is true when it changed a setting or acted.
func (s *Server) run(cmd command, arg string, hasArg bool) (answer string, changed bool, err error) {
	h := &s.cfg.Handlers
	switch bound := cmd.bind(h).(type) {
	case helpList:
		if hasArg {
			return "", false, fmt.Errorf("%s takes no value", cmd.name)
		}
		return helpText(), false, nil
	case report:
		if hasArg {
			return "", false, fmt.Errorf("%s takes no value", cmd.name)
		}
		return bound(), false, nil
	case fact:
		if hasArg && arg != "?" {
			return "", false, fmt.Errorf("%s is read-only", cmd.name)
		}
		answer, err := bound()
		return answer, false, err
	case setting:
		if !hasArg {
			return "", false, fmt.Errorf("%s needs a value: %s=%s, or %s=? to read it", cmd.name, cmd.name, cmd.arg, cmd.name)
		}
		if arg == "?" {
			return bound.get(), false, nil
		}
		if err := bound.set(cmd.name, arg); err != nil {
			return "", false, err
		}
		// Read the value back, so the answer shows what is in effect now.
		answer := withNewline(cmd.name + "=" + bound.get())
		if cmd.throttleNote {
			answer += throttleNote + "\n"
		}
		return answer + withNewline(h.Status()), true, nil
	case action:
		if !hasArg && s.mustName(cmd.name) {
			return "", false, fmt.Errorf("%s must name the migrated table, as this migration runs with %s: send %s=%s", cmd.name, map[string]string{"unpostpone": "--force-named-cut-over", "panic": "--force-named-panic"}[cmd.name], cmd.name, s.cfg.Table)
		}
		if hasArg && arg != s.cfg.Table {
			return "", false, fmt.Errorf("%s names table %q, but this migration is of %q: nothing done", cmd.name, arg, s.cfg.Table)
		}
		said, err := bound()
		if err != nil {
			return "", false, err
		}
		answer := withNewline(said)
		if said == "" {
			answer = ""
		}
		if cmd.throttleNote {
			answer += throttleNote + "\n"
		}
		if cmd.ends {
			return answer, true, nil
		}
		return answer + withNewline(h.Status()), true, nil
	}
	return "", false, fmt.Errorf("the %s command has a handler of no known kind", cmd.name)
}

func errorLine(msg string) string {
	return "ERROR: " + strings.ReplaceAll(msg, "\n", " ") + "\n"
}

func withNewline(s string) string {
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

func firstWord(line string) string {
	name, _, _ := strings.Cut(line, "=")
	return clip(strings.TrimSpace(name))
}

// clip shortens what the operator sent for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// mustName says whether the action named (a command's own name, not an alias) must name the table.
func (s *Server) mustName(action string) bool {
	return action == "unpostpone" && s.cfg.ForceNamedCutOver || action == "panic" && s.cfg.ForceNamedPanic
}

// DefaultSocketPath is the socket doppel serves on when --serve-socket-file is not given:
// doppel.<database>.<table>.sock, named as gh-ost names its own, in DefaultSocketDir.
func DefaultSocketPath(database, table string) string {
	clean := strings.NewReplacer("/", "_", "\x00", "_")
	return filepath.Join(DefaultSocketDir(), "doppel."+clean.Replace(database)+"."+clean.Replace(table)+".sock")
}

// DefaultSocketDir is /tmp/doppel-<uid>: a directory of the user's own that only the user can
// write (Listen creates it 0700 and checks it), so that no other user can put a socket of theirs
// where doppel ctl and the runbooks look for doppel's.
func DefaultSocketDir() string {
	return filepath.Join(os.TempDir(), "doppel-"+strconv.Itoa(os.Getuid()))
}

// ensurePrivateDir creates dir 0700, or checks that it is a directory the user owns that no one
// else can write; anything else there is refused, not used.
func ensurePrivateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("creating the control socket's directory %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("checking the control socket's directory %s: %w", dir, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 || (ok && int(st.Uid) != os.Getuid()) {
		return fmt.Errorf("%s is not a directory of yours that only you can write (mode %s): doppel will not put its control socket there. Remove it, or choose another --serve-socket-file", dir, fi.Mode())
	}
	return nil
}
