package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fake serves the commands and records what it is asked.
type fake struct {
	mu        sync.Mutex
	values    map[string]any // settings by command name
	sets      []string
	acts      []string
	postponed bool
	block     chan struct{}     // when set, Status waits for it to close
	onAct     func(name string) // when set, called by every action
}

func newFake() *fake {
	return &fake{values: map[string]any{}, postponed: true}
}

// handlers binds every command to the fake.
func (f *fake) handlers() Handlers {
	fact := func(v string) func() (string, error) { return func() (string, error) { return v, nil } }
	return Handlers{
		Status:      f.status,
		Sup:         func() string { return "Copy: 10/100 10.0%; State: copying" },
		Coordinates: fact("mariadb-bin.000003:1234"),
		Applier:     fact("127.0.0.1:3306 (mariadb 10.11)"),
		Inspector:   fact("127.0.0.1:3307 (mariadb 10.11)"),

		ChunkSize:               fakeSetting(f, "chunk-size", int64(1000)),
		DMLBatchSize:            fakeSetting(f, "dml-batch-size", int64(100)),
		MaxLagMillis:            fakeSetting(f, "max-lag-millis", int64(1500)),
		MaxLoad:                 fakeSetting(f, "max-load", ""),
		CriticalLoad:            fakeSetting(f, "critical-load", ""),
		NiceRatio:               fakeSetting(f, "nice-ratio", 0.0),
		ThrottleQuery:           fakeSetting(f, "throttle-query", ""),
		ThrottleHTTP:            fakeSetting(f, "throttle-http", ""),
		ThrottleControlReplicas: fakeSetting(f, "throttle-control-replicas", ""),
		PostponeCutOverFlagFile: fakeSetting(f, "postpone-cut-over-flag-file", ""),

		Throttle:   f.action("throttle", func() (string, error) { return "", nil }),
		NoThrottle: f.action("no-throttle", func() (string, error) { return "", nil }),
		Unpostpone: f.action("unpostpone", func() (string, error) {
			if !f.postponed {
				return "", errors.New("the cut-over is not postponed now")
			}
			f.postponed = false
			return "Unpostponed", nil
		}),
		Panic:           f.action("panic", func() (string, error) { return "Aborting the migration", nil }),
		Revert:          f.action("revert", func() (string, error) { return "", errors.New("there is no revert window open now") }),
		EndRevertWindow: f.action("end-revert-window", func() (string, error) { return "", errors.New("there is no revert window open now") }),
	}
}

func (f *fake) status() string {
	if f.block != nil {
		<-f.block
	}
	return "# Migrating `db`.`t`\n# chunk-size: " + f.value("chunk-size") + "\nCopy: 10/100 10.0%; State: copying"
}

// value is a setting's value in its canonical form.
func (f *fake) value(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprint(f.values[name])
}

func fakeSetting[T Value](f *fake, name string, initial T) Setting[T] {
	f.values[name] = initial
	return Setting[T]{
		Get: func() T {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.values[name].(T)
		},
		Set: func(v T) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			if n, ok := any(v).(int64); ok && name == "chunk-size" && (n < 10 || n > 100000) {
				return errors.New("out of range: use 10 to 100000")
			}
			f.values[name] = v
			f.sets = append(f.sets, name+"="+format(v))
			return nil
		},
	}
}

func (f *fake) action(name string, do func() (string, error)) func() (string, error) {
	return func() (string, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.acts = append(f.acts, name)
		if f.onAct != nil {
			f.onAct(name)
		}
		return do()
	}
}

func (f *fake) last() (set, act string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sets) > 0 {
		set = f.sets[len(f.sets)-1]
	}
	if len(f.acts) > 0 {
		act = f.acts[len(f.acts)-1]
	}
	return set, act
}

// shortDir is a directory for sockets whose paths stay well below the system's limit.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// serve starts a server on a new socket; it stops when the test ends. It returns the server, the
// socket path and a function that stops the server and returns Serve's result.
func serve(t *testing.T, cfg Config) (*Server, string, func() error) {
	t.Helper()
	if cfg.SocketPath == "" {
		cfg.SocketPath = filepath.Join(shortDir(t), "doppel.sock")
	}
	if cfg.Handlers.Status == nil {
		cfg.Handlers = newFake().handlers()
	}
	if cfg.Table == "" {
		cfg.Table = "t"
	}
	srv, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	var once sync.Once
	var result error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(5 * time.Second):
				result = errors.New("Serve did not return after its context ended")
			}
		})
		return result
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return srv, cfg.SocketPath, stop
}

func send(t *testing.T, path, command string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return Send(ctx, "unix", path, command)
}

func TestEveryCommand(t *testing.T) {
	f := newFake()
	_, path, _ := serve(t, Config{Handlers: f.handlers()})
	const long = "# Migrating `db`.`t`"
	for _, tc := range []struct {
		line    string
		want    []string // substrings of the answer
		set     string   // the Set call it makes, name=value
		act     string   // the Act call it makes
		notWant string
	}{
		{line: "help", want: []string{"chunk-size=<rows>", "status, info", "throttle, pause, suspend", "also take =<table>", "no-throttle, unthrottle, resume, continue", "unpostpone, no-postpone, cut-over", "panic", "coordinates", "applier", "inspector", "postpone-cut-over-flag-file=<path>", "chunk-size=?"}},
		{line: "status", want: []string{long, "Copy: 10/100"}},
		{line: "info", want: []string{long}},
		{line: "  Status \t", want: []string{long}},
		{line: "sup", want: []string{"Copy: 10/100 10.0%; State: copying\n"}, notWant: long},
		{line: "coordinates", want: []string{"mariadb-bin.000003:1234\n"}},
		{line: "coordinates=?", want: []string{"mariadb-bin.000003:1234\n"}},
		{line: "applier", want: []string{"127.0.0.1:3306 (mariadb 10.11)"}},
		{line: "inspector", want: []string{"127.0.0.1:3307 (mariadb 10.11)"}},
		{line: "chunk-size=500", want: []string{"chunk-size=500\n", "# chunk-size: 500"}, set: "chunk-size=500"},
		{line: "chunk-size=?", want: []string{"500\n"}},
		{line: "chunk-size = 0700", want: []string{"chunk-size=700\n"}, set: "chunk-size=700"},
		{line: "dml-batch-size=50", want: []string{"dml-batch-size=50\n", long}, set: "dml-batch-size=50"},
		{line: "dml-batch-size=?", want: []string{"50\n"}},
		{line: "max-lag-millis=2000", want: []string{"max-lag-millis=2000\n"}, set: "max-lag-millis=2000"},
		{line: "max-lag-millis=?", want: []string{"2000\n"}},
		{line: "max-load=Threads_running=30,Threads_connected=500", want: []string{"max-load=Threads_running=30,Threads_connected=500\n"}, set: "max-load=Threads_running=30,Threads_connected=500"},
		{line: "max-load=?", want: []string{"Threads_running=30,Threads_connected=500\n"}},
		{line: "critical-load=Threads_running=1000", set: "critical-load=Threads_running=1000"},
		{line: "critical-load=?", want: []string{"Threads_running=1000\n"}},
		{line: "nice-ratio=0.5", want: []string{"nice-ratio=0.5\n"}, set: "nice-ratio=0.5"},
		{line: "nice-ratio=2", set: "nice-ratio=2"},
		{line: "nice-ratio=?", want: []string{"2\n"}},
		{line: `throttle-query="SELECT HOUR(NOW()) BETWEEN 8 AND 17"`, want: []string{throttleNote}, set: "throttle-query=SELECT HOUR(NOW()) BETWEEN 8 AND 17"},
		{line: "throttle-query=?", want: []string{"SELECT HOUR(NOW()) BETWEEN 8 AND 17\n"}},
		{line: "throttle-query=", set: "throttle-query="},
		{line: "throttle-http=http://127.0.0.1:6789/throttle", want: []string{throttleNote}, set: "throttle-http=http://127.0.0.1:6789/throttle"},
		{line: "throttle-http=?", want: []string{"http://127.0.0.1:6789/throttle\n"}},
		{line: "throttle-control-replicas='replica1,replica2:3307'", set: "throttle-control-replicas=replica1,replica2:3307"},
		{line: "throttle-control-replicas=?", want: []string{"replica1,replica2:3307\n"}},
		{line: "postpone-cut-over-flag-file=/tmp/postpone", set: "postpone-cut-over-flag-file=/tmp/postpone"},
		{line: "postpone-cut-over-flag-file=?", want: []string{"/tmp/postpone\n"}},
		{line: "throttle", want: []string{throttleNote, long}, act: "throttle"},
		{line: "pause", act: "throttle"},
		{line: "suspend", act: "throttle"},
		{line: "throttle=t", act: "throttle"},
		{line: "no-throttle", want: []string{long}, act: "no-throttle"},
		{line: "unthrottle", act: "no-throttle"},
		{line: "resume", act: "no-throttle"},
		{line: "continue=t", act: "no-throttle"},
		{line: "unpostpone", want: []string{"Unpostponed\n", long}, act: "unpostpone"},
		{line: "no-postpone", want: []string{"ERROR: the cut-over is not postponed now\n"}, act: "unpostpone"},
		{line: "cut-over", want: []string{"ERROR: "}, act: "unpostpone"},
		{line: "panic=t", want: []string{"Aborting the migration\n"}, notWant: long, act: "panic"},
		{line: "panic", want: []string{"Aborting the migration\n"}, act: "panic"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			f.mu.Lock()
			f.sets, f.acts = nil, nil
			f.mu.Unlock()
			answer, err := send(t, path, tc.line)
			if err != nil && !errors.Is(err, ErrCommand) {
				t.Fatal(err)
			}
			if !strings.HasSuffix(answer, "\n") {
				t.Errorf("answer %q does not end with a newline", answer)
			}
			for _, w := range tc.want {
				if !strings.Contains(answer, w) {
					t.Errorf("answer %q lacks %q", answer, w)
				}
			}
			if tc.notWant != "" && strings.Contains(answer, tc.notWant) {
				t.Errorf("answer %q has %q", answer, tc.notWant)
			}
			set, act := f.last()
			if set != tc.set || act != tc.act {
				t.Errorf("calls: Set %q, Act %q; want Set %q, Act %q", set, act, tc.set, tc.act)
			}
		})
	}
}

func TestMalformedCommands(t *testing.T) {
	f := newFake()
	_, path, _ := serve(t, Config{Handlers: f.handlers()})
	for _, tc := range []struct{ line, want string }{
		{"", "ERROR: empty command"},
		{"   ", "ERROR: empty command"},
		{"bogus", `ERROR: unknown command "bogus"`},
		{"=5", `ERROR: unknown command ""`},
		{"\x00\xff\x01", "ERROR: unknown command"},
		{"chunk-size", "ERROR: chunk-size needs a value: chunk-size=<rows>, or chunk-size=? to read it"},
		{"chunk-size=", `ERROR: chunk-size=: "" is not a whole number`},
		{"chunk-size=abc", `ERROR: chunk-size=abc: "abc" is not a whole number`},
		{"chunk-size=1.5", "is not a whole number"},
		{"chunk-size=99999999999999999999", "is not a whole number"},
		{"chunk-size=5", "ERROR: chunk-size=5: out of range: use 10 to 100000"},
		{"max-lag-millis=fast", "is not a whole number"},
		{"nice-ratio=fast", `ERROR: nice-ratio=fast: "fast" is not a number`},
		{"nice-ratio=NaN", "is not a number"},
		{"nice-ratio=Inf", "is not a number"},
		{"status=now", "ERROR: status takes no value"},
		{"help=me", "ERROR: help takes no value"},
		{"coordinates=mysql-bin.000001:4", "ERROR: coordinates is read-only"},
		{"throttle=other", `ERROR: throttle names table "other", but this migration is of "t": nothing done`},
		{"panic=other", "nothing done"},
		{"cut-over=other", "nothing done"},
	} {
		t.Run(tc.line, func(t *testing.T) {
			answer, err := send(t, path, tc.line)
			if !errors.Is(err, ErrCommand) {
				t.Errorf("Send error %v, want ErrCommand", err)
			}
			if !strings.HasPrefix(answer, "ERROR: ") || !strings.HasSuffix(answer, "\n") || strings.Count(answer, "\n") != 1 {
				t.Errorf("answer %q is not one ERROR line", answer)
			}
			if !strings.Contains(answer, tc.want) {
				t.Errorf("answer %q lacks %q", answer, tc.want)
			}
		})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sets) != 0 || len(f.acts) != 0 {
		t.Errorf("refused commands reached the controller: sets %q, acts %q", f.sets, f.acts)
	}
	if v := fmt.Sprint(f.values["chunk-size"]); v != "1000" {
		t.Errorf("chunk-size changed to %s", v)
	}
}

// Every handler is bound to the command of its name, and Listen refuses handlers lacking one.
func TestListenRefusesAMissingHandler(t *testing.T) {
	complete := newFake().handlers()
	if err := complete.Check(); err != nil {
		t.Fatal(err)
	}
	fields := reflect.TypeFor[Handlers]()
	for i := range fields.NumField() {
		field := fields.Field(i)
		t.Run(field.Name, func(t *testing.T) {
			h := newFake().handlers()
			reflect.ValueOf(&h).Elem().Field(i).SetZero()
			_, err := Listen(Config{SocketPath: filepath.Join(shortDir(t), "s.sock"), Handlers: h})
			if err == nil {
				t.Fatalf("Listen without %s succeeded", field.Name)
			}
			var name string
			if _, err := fmt.Sscanf(err.Error(), "control: the %s command has no handler", &name); err != nil {
				t.Fatalf("Listen without %s = %v", field.Name, err)
			}
			if strings.ReplaceAll(name, "-", "") != strings.ToLower(field.Name) {
				t.Errorf("without %s, Listen names %s", field.Name, name)
			}
		})
	}
	// Half a setting is no handler either.
	h := newFake().handlers()
	h.NiceRatio.Set = nil
	if err := h.Check(); err == nil || err.Error() != "control: the nice-ratio command has no handler" {
		t.Errorf("Check with nice-ratio lacking Set = %v", err)
	}
}

// Raw clients: no trailing newline, CRLF, an over-long line, and one that sends nothing.
func TestRawConnections(t *testing.T) {
	_, path, _ := serve(t, Config{ReadTimeout: 300 * time.Millisecond})
	exchange := func(payload string, closeWrite bool) string {
		t.Helper()
		conn, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if payload != "" {
			if _, err := io.WriteString(conn, payload); err != nil {
				t.Fatal(err)
			}
		}
		if closeWrite {
			_ = conn.(*net.UnixConn).CloseWrite()
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(conn)
		if err != nil {
			t.Fatalf("reading the answer to %.20q: %v", payload, err)
		}
		return string(b)
	}
	if got := exchange("sup", true); got != "Copy: 10/100 10.0%; State: copying\n" {
		t.Errorf("without a newline: %q", got)
	}
	if got := exchange("sup\r\n", false); got != "Copy: 10/100 10.0%; State: copying\n" {
		t.Errorf("with CRLF, connection left open (like nc): %q", got)
	}
	if got := exchange("sup\nstatus\n", false); got != "Copy: 10/100 10.0%; State: copying\n" {
		t.Errorf("one command per connection: %q", got)
	}
	if got := exchange(strings.Repeat("x", maxLine+10), true); got != fmt.Sprintf("ERROR: command longer than %d bytes\n", maxLine) {
		t.Errorf("an over-long line: %.100q", got)
	}
	if got := exchange(strings.Repeat("y", 1000), true); !strings.HasPrefix(got, `ERROR: unknown command "yyyy`) || len(got) > 200 {
		t.Errorf("a long unknown command: %.300q", got)
	}
	begin := time.Now()
	if got := exchange("", false); got != "" {
		t.Errorf("a silent client got %q", got)
	}
	if took := time.Since(begin); took > 3*time.Second {
		t.Errorf("a silent client was held %s; the read timeout is 300ms", took)
	}
	if got := exchange("", true); got != "" {
		t.Errorf("a client that sent nothing got %q", got)
	}
	if answer, err := send(t, path, "sup"); err != nil || answer == "" {
		t.Errorf("the server no longer answers: %q, %v", answer, err)
	}
}

func TestSocketFile(t *testing.T) {
	dir := shortDir(t)
	path := filepath.Join(dir, "doppel.db.t.sock")
	core, logs := observer.New(zap.InfoLevel)
	_, _, stop := serve(t, Config{SocketPath: path, Logger: zap.New(core)})
	if got := logs.FilterField(zap.String("socket", path)).Len(); got != 1 {
		t.Errorf("the socket path was logged %d times: %v", got, logs.All())
	}
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode()&fs.ModeSocket == 0 || info.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %s, want a socket with 0600", info.Mode())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the socket's directory holds %d entries, want the socket only", len(entries))
	}

	// A second server on the same path is refused while the first one lives, and the first one
	// keeps its socket.
	_, err = Listen(Config{SocketPath: path, Handlers: newFake().handlers()})
	if err == nil || !strings.Contains(err.Error(), "another process is serving on "+path) {
		t.Fatalf("a second Listen on a live socket = %v", err)
	}
	if answer, err := send(t, path, "sup"); err != nil || answer == "" {
		t.Fatalf("the first server stopped answering: %q, %v", answer, err)
	}

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the socket file is still there after Serve ended: %v", err)
	}
}

func TestStaleSocketIsReplaced(t *testing.T) {
	path := filepath.Join(shortDir(t), "stale.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // a socket file nobody listens on, as a killed run leaves it
	_, _, _ = serve(t, Config{SocketPath: path})
	if answer, err := send(t, path, "sup"); err != nil || answer == "" {
		t.Fatalf("no answer on the replaced socket: %q, %v", answer, err)
	}
}

// TestInitiallyDropSocketFile: a socket another server still serves is refused, unless
// DropLiveSocket (--initially-drop-socket-file) takes it over.
func TestInitiallyDropSocketFile(t *testing.T) {
	_, path, stopFirst := serve(t, Config{})
	defer func() { _ = stopFirst() }()
	if _, err := Listen(Config{SocketPath: path, Handlers: newFake().handlers()}); err == nil || !strings.Contains(err.Error(), "--initially-drop-socket-file") {
		t.Fatalf("Listen on a live socket = %v, want a refusal naming --initially-drop-socket-file", err)
	}
	f := newFake()
	_, _, _ = serve(t, Config{SocketPath: path, DropLiveSocket: true, Handlers: f.handlers()})
	if _, err := send(t, path, "throttle"); err != nil {
		t.Fatal(err)
	}
	if _, act := f.last(); act != "throttle" {
		t.Errorf("the command reached %q, want the new server", act)
	}
}

// TestForceNamed: with --force-named-cut-over and --force-named-panic, unpostpone (and its alias
// cut-over) and panic act only when they name the table.
func TestForceNamed(t *testing.T) {
	for _, tc := range []struct {
		cfg     Config
		command string
		refused bool
	}{
		{Config{ForceNamedCutOver: true}, "unpostpone", true},
		{Config{ForceNamedCutOver: true}, "cut-over", true},
		{Config{ForceNamedCutOver: true}, "unpostpone=t", false},
		{Config{ForceNamedCutOver: true}, "panic", false},
		{Config{ForceNamedPanic: true}, "panic", true},
		{Config{ForceNamedPanic: true}, "panic=t", false},
		{Config{ForceNamedPanic: true}, "unpostpone", false},
		{Config{}, "unpostpone", false},
	} {
		f := newFake()
		tc.cfg.Handlers = f.handlers()
		_, path, stop := serve(t, tc.cfg)
		answer, err := send(t, path, tc.command)
		_, act := f.last()
		if tc.refused != (act == "") || tc.refused != (err != nil) {
			t.Errorf("named cut-over %v, named panic %v, %s: answer %q, %v, acted %q", tc.cfg.ForceNamedCutOver, tc.cfg.ForceNamedPanic, tc.command, answer, err, act)
		}
		if tc.refused && (err == nil || !strings.Contains(err.Error(), "must name the migrated table")) {
			t.Errorf("%s refused with %v", tc.command, err)
		}
		_ = stop()
	}
}

func TestSocketPathRefusals(t *testing.T) {
	dir := shortDir(t)
	regular := filepath.Join(dir, "not-a-socket")
	if err := os.WriteFile(regular, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Listen(Config{SocketPath: regular, Handlers: newFake().handlers()})
	if err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("Listen on a regular file = %v", err)
	}
	if b, _ := os.ReadFile(regular); string(b) != "keep me" {
		t.Error("the regular file was changed")
	}
	long := filepath.Join(dir, strings.Repeat("x", 120)+".sock")
	if _, err := Listen(Config{SocketPath: long, Handlers: newFake().handlers()}); err == nil || !strings.Contains(err.Error(), "choose a shorter --serve-socket-file") {
		t.Errorf("Listen on a too long path = %v", err)
	}
	if _, err := Listen(Config{SocketPath: filepath.Join(dir, "no", "such", "dir.sock"), Handlers: newFake().handlers()}); err == nil {
		t.Error("Listen in a missing directory succeeded")
	}
	if _, err := Listen(Config{Handlers: newFake().handlers()}); err == nil {
		t.Error("Listen without a socket or a port succeeded")
	}
	if _, err := Listen(Config{SocketPath: filepath.Join(dir, "x.sock")}); err == nil {
		t.Error("Listen without handlers succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("refusals left files behind: %d entries", len(entries))
	}
}

func TestTCP(t *testing.T) {
	srv, _, _ := serve(t, Config{TCPAddr: "127.0.0.1:0"})
	addr := srv.TCPAddr()
	if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("TCPAddr() = %q", addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	answer, err := Send(ctx, "tcp", addr, "chunk-size=?")
	if err != nil || answer != "1000\n" {
		t.Fatalf("over TCP: %q, %v", answer, err)
	}
	for _, bad := range []string{"0.0.0.0:0", ":0", "192.0.2.1:10001", "example.com:1"} {
		if _, err := Listen(Config{TCPAddr: bad, Handlers: newFake().handlers()}); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("Listen on %s = %v", bad, err)
		}
	}
}

func TestBeforeCommandHook(t *testing.T) {
	f := newFake()
	var mu sync.Mutex
	var seen []string
	_, path, _ := serve(t, Config{Handlers: f.handlers(), BeforeCommand: func(ctx context.Context, command string) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, command)
		if strings.HasPrefix(command, "chunk-size=5000") {
			return errors.New("hook gh-ost-on-interactive-command exited with status 1")
		}
		return nil
	}})
	if _, err := send(t, path, "chunk-size=2000"); err != nil {
		t.Fatal(err)
	}
	answer, err := send(t, path, "chunk-size=5000")
	if !errors.Is(err, ErrCommand) || !strings.Contains(answer, "ERROR: chunk-size refused: hook gh-ost-on-interactive-command exited with status 1") {
		t.Errorf("a refused command answered %q, %v", answer, err)
	}
	if v := f.value("chunk-size"); v != "2000" {
		t.Errorf("chunk-size is %s after the hook refused 5000", v)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, "|") != "chunk-size=2000|chunk-size=5000" {
		t.Errorf("the hook saw %q", seen)
	}
}

func TestConcurrentClients(t *testing.T) {
	f := newFake()
	_, path, _ := serve(t, Config{Handlers: f.handlers()})
	const clients, each = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, clients*each)
	for c := range clients {
		wg.Go(func() {
			for i := range each {
				cmd := "sup"
				switch i % 4 {
				case 1:
					cmd = fmt.Sprintf("chunk-size=%d", 100+c)
				case 2:
					cmd = "status"
				case 3:
					cmd = "throttle"
				}
				answer, err := send(t, path, cmd)
				if err != nil || answer == "" {
					errs <- fmt.Errorf("%s: %q, %w", cmd, answer, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sets) != clients*each/4 || len(f.acts) != clients*each/4 {
		t.Errorf("%d sets and %d acts, want %d each", len(f.sets), len(f.acts), clients*each/4)
	}
}

func TestShutdownClosesIdleConnections(t *testing.T) {
	_, path, stop := serve(t, Config{ReadTimeout: time.Hour})
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	time.Sleep(50 * time.Millisecond) // let the server take the connection
	begin := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("Serve took %s to return with an idle client", took)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("the idle client was not disconnected: %d, %v", n, err)
	}
}

// The migration ends the server's context when told to panic; the operator still gets the answer.
func TestPanicIsAnsweredDuringShutdown(t *testing.T) {
	f := newFake()
	stopped, stopper := make(chan error, 1), make(chan func() error, 1)
	f.onAct = func(string) { go func() { stopped <- (<-stopper)() }() }
	_, path, stop := serve(t, Config{Handlers: f.handlers()})
	stopper <- stop
	idle, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	answer, err := send(t, path, "panic")
	if err != nil || answer != "Aborting the migration\n" {
		t.Fatalf("panic answered %q, %v", answer, err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not stop")
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the socket file is still there: %v", err)
	}
}

func TestSendHonoursContext(t *testing.T) {
	f := newFake()
	f.block = make(chan struct{})
	_, path, _ := serve(t, Config{Handlers: f.handlers()})
	defer close(f.block) // before the server stops: its handler is blocked in Status
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := Send(ctx, "unix", path, "status")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send with a slow server = %v, want the context's deadline", err)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("Send returned after %s", took)
	}
	if _, err := Send(context.Background(), "unix", path, "status\nsup"); err == nil {
		t.Error("a command with a newline was sent")
	}
	if _, err := Send(context.Background(), "unix", filepath.Join(shortDir(t), "none.sock"), "sup"); err == nil || !strings.Contains(err.Error(), "connecting to doppel on") {
		t.Errorf("Send to no server = %v", err)
	}
}

func TestDefaultSocketPath(t *testing.T) {
	dir := filepath.Join(os.TempDir(), "doppel-"+strconv.Itoa(os.Getuid()))
	if got := DefaultSocketPath("shop", "orders"); got != filepath.Join(dir, "doppel.shop.orders.sock") {
		t.Errorf("DefaultSocketPath = %q", got)
	}
	if got := DefaultSocketPath("a/b", "c"); got != filepath.Join(dir, "doppel.a_b.c.sock") {
		t.Errorf("DefaultSocketPath with a slash = %q", got)
	}
}

// TestDefaultSocketDirIsPrivate: the default socket's directory is created 0700, and one that
// others could write is refused rather than used.
func TestDefaultSocketDirIsPrivate(t *testing.T) {
	t.Setenv("TMPDIR", shortDir(t))
	dir := DefaultSocketDir()
	_, path, stop := serve(t, Config{SocketPath: DefaultSocketPath("db", "t")})
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("the socket's directory %s: %v %v, want 0700", dir, fi.Mode(), err)
	}
	if _, err := send(t, path, "sup"); err != nil {
		t.Fatal(err)
	}
	_ = stop()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := Listen(Config{SocketPath: DefaultSocketPath("db", "t"), Handlers: newFake().handlers()})
	if err == nil || !strings.Contains(err.Error(), "only you can write") {
		t.Errorf("Listen in a directory others can write = %v", err)
	}
}
