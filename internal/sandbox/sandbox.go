// Package sandbox starts a throwaway MySQL or MariaDB primary and a replica of it, each in its own
// temporary data directory on a free loopback port, with the binary log doppel needs (log_bin,
// binlog_format=ROW, binlog_row_image=FULL, log_slave_updates). Tests, the demo and the benchmarks
// run against it; nothing here is for production.
//
// The server binary is $DOPPEL_MYSQLD if set, else mariadbd, else mysqld on PATH. Servers are started
// so that they die with the process that started them (Linux), so a crashed test leaves nothing behind.
package sandbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// Options configure a sandbox. The zero value starts a primary and one replica.
type Options struct {
	// Binary is the mysqld or mariadbd to run; empty means $DOPPEL_MYSQLD, then mariadbd, then mysqld.
	Binary string
	// NoReplica starts the primary only.
	NoReplica bool
	// ExtraArgs are more server options for both servers, such as "--log-bin-compress=ON".
	ExtraArgs []string
	// BufferPool is innodb_buffer_pool_size; empty means 128M.
	BufferPool string
	// Dir is where the sandbox's directory is created; empty means os.TempDir().
	Dir string
	// Logf, when set, receives progress messages.
	Logf func(format string, args ...any)
}

// Sandbox is a running primary and, unless Options.NoReplica, a replica of it.
type Sandbox struct {
	Primary *Server
	Replica *Server // nil with Options.NoReplica
	Flavor  dbconn.Flavor
	root    string
	dbSeq   atomic.Int64
}

// Start initializes and starts the servers and sets up replication. On error, whatever was started is
// stopped again.
func Start(ctx context.Context, opts Options) (_ *Sandbox, err error) {
	bin, err := findBinary(opts.Binary)
	if err != nil {
		return nil, err
	}
	kind, err := detectKind(ctx, bin)
	if err != nil {
		return nil, err
	}
	base := opts.Dir
	if base == "" {
		base = os.TempDir()
	}
	root, err := os.MkdirTemp(base, "doppel-sandbox-")
	if err != nil {
		return nil, fmt.Errorf("creating sandbox directory: %w", err)
	}
	sb := &Sandbox{root: root}
	defer func() {
		if err != nil {
			_ = sb.Stop()
		}
	}()
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	template, err := ensureTemplate(ctx, bin, kind, logf)
	if err != nil {
		return nil, err
	}
	sb.Primary, err = startServer(ctx, serverSpec{name: "primary", serverID: 1, bin: bin, kind: kind, template: template, root: root, opts: opts})
	if err != nil {
		return nil, err
	}
	db, err := sb.Primary.DB("")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if sb.Flavor, err = dbconn.DetectFlavor(ctx, db); err != nil {
		return nil, err
	}
	logf("sandbox: %s %s primary on %s", sb.Flavor.Name(), sb.Flavor.Version(), sb.Primary.Config().Addr())
	installLockInfo(ctx, db, sb.Flavor, logf)
	if opts.NoReplica {
		return sb, nil
	}
	sb.Replica, err = startServer(ctx, serverSpec{name: "replica", serverID: 2, bin: bin, kind: kind, template: template, root: root, opts: opts})
	if err != nil {
		return nil, err
	}
	if rdb, err := sb.Replica.DB(""); err == nil {
		installLockInfo(ctx, rdb, sb.Flavor, logf)
		_ = rdb.Close()
	}
	if err := sb.connectReplica(ctx, db); err != nil {
		return nil, err
	}
	logf("sandbox: replica on %s", sb.Replica.Config().Addr())
	return sb, nil
}

// connectReplica points the replica at the primary's current binlog position and waits until both
// replication threads run.
func (sb *Sandbox) connectReplica(ctx context.Context, primary *sql.DB) error {
	pos, err := dbconn.ReadBinlogStatus(ctx, primary, sb.Flavor)
	if err != nil {
		return err
	}
	rdb, err := sb.Replica.DB("")
	if err != nil {
		return err
	}
	defer rdb.Close()
	p := sb.Primary.Config()
	if _, err := rdb.ExecContext(ctx, sb.Flavor.ChangeSourceSQL(p.Host, p.Port, p.User, p.Password, pos.File, pos.Pos)); err != nil {
		return fmt.Errorf("pointing the replica at the primary: %w", err)
	}
	if _, err := rdb.ExecContext(ctx, sb.Flavor.StartReplicaSQL()); err != nil {
		return fmt.Errorf("starting replication: %w", err)
	}
	return waitFor(ctx, 30*time.Second, func() (bool, error) {
		st, ok, err := dbconn.ReadReplicaStatus(ctx, rdb, sb.Flavor)
		if err != nil || !ok {
			return false, err
		}
		if st.IORunning && st.SQLRunning {
			return true, nil
		}
		if st.LastError != "" {
			return false, fmt.Errorf("replication does not start: %s", st.LastError)
		}
		return false, nil
	})
}

// WaitReplica blocks until the replica has applied everything the primary has written so far.
func (sb *Sandbox) WaitReplica(ctx context.Context) error {
	if sb.Replica == nil {
		return nil
	}
	pdb, err := sb.Primary.DB("")
	if err != nil {
		return err
	}
	defer pdb.Close()
	rdb, err := sb.Replica.DB("")
	if err != nil {
		return err
	}
	defer rdb.Close()
	target, err := dbconn.ReadBinlogStatus(ctx, pdb, sb.Flavor)
	if err != nil {
		return err
	}
	return waitFor(ctx, time.Minute, func() (bool, error) {
		st, ok, err := dbconn.ReadReplicaStatus(ctx, rdb, sb.Flavor)
		if err != nil {
			return false, err
		}
		if !ok {
			return false, errors.New("the replica is not replicating")
		}
		return st.ExecFile > target.File || (st.ExecFile == target.File && st.ExecPos >= target.Pos), nil
	})
}

// Stop stops every server of the sandbox and removes its directory (kept when $DOPPEL_SANDBOX_KEEP
// is set, for post-mortems). It is safe to call more than once.
func (sb *Sandbox) Stop() error {
	var errs []error
	for _, s := range []*Server{sb.Replica, sb.Primary} {
		if s != nil {
			errs = append(errs, s.Stop())
		}
	}
	if os.Getenv("DOPPEL_SANDBOX_KEEP") == "" && sb.root != "" {
		errs = append(errs, os.RemoveAll(sb.root))
	}
	return errors.Join(errs...)
}

// Dir is the sandbox's directory; each server's data directory is below it.
func (sb *Sandbox) Dir() string { return sb.root }

// CreateDatabase creates the database name on the primary and returns a pool on it, opened as
// doppel opens its own (dbconn.Open): for the programs that run on a sandbox (demo, bench, soak).
func (sb *Sandbox) CreateDatabase(ctx context.Context, name string) (*sql.DB, error) {
	admin, err := sb.Primary.DB("")
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+sqlbuild.QuoteIdent(name)); err != nil {
		return nil, fmt.Errorf("creating the database %s: %w", name, err)
	}
	return dbconn.Open(sb.Primary.Config(), name)
}

// findBinary resolves the server binary to run.
func findBinary(explicit string) (string, error) {
	candidates := []string{explicit, os.Getenv("DOPPEL_MYSQLD"), "mariadbd", "mysqld"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
		// Debian puts the servers in /usr/sbin, which is not always on a user's PATH.
		if p := filepath.Join("/usr/sbin", c); !strings.Contains(c, "/") && isExecutable(p) {
			return p, nil
		}
	}
	return "", errors.New("no MySQL or MariaDB server binary found: install mariadb-server (or MySQL) or set DOPPEL_MYSQLD to the mysqld/mariadbd to use")
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// kind tells how to initialize and start a server binary.
type kind struct {
	mariadb bool
	version dbconn.Version
}

func detectKind(ctx context.Context, bin string) (kind, error) {
	out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	if err != nil {
		return kind{}, fmt.Errorf("running %s --version: %w: %s", bin, err, out)
	}
	// "mariadbd  Ver 10.11.6-MariaDB-0+deb12u1 for debian-linux-gnu" or "mysqld  Ver 8.0.36 for Linux"
	s := string(out)
	i := strings.Index(s, "Ver ")
	if i < 0 {
		return kind{}, fmt.Errorf("cannot read the version of %s from %q", bin, s)
	}
	v, err := dbconn.ParseVersion(strings.TrimSpace(s[i+4:]))
	if err != nil {
		return kind{}, err
	}
	return kind{mariadb: strings.Contains(strings.ToLower(s), "mariadb"), version: v}, nil
}

// waitFor polls cond every 100 ms until it is true, fails, ctx ends or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting %s: %w", timeout, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// installLockInfo installs MariaDB's metadata_lock_info plugin, as doppel's docs ask of a production
// server: with it the cut-over proves its RENAME waits for the original table itself, and several
// tables can be swapped together. A server without the plugin's library runs without it (doppel
// then says so at the cut-over); tests that need its absence uninstall it.
func installLockInfo(ctx context.Context, db *sql.DB, f dbconn.Flavor, logf func(string, ...any)) {
	if f.Name() != "mariadb" {
		return // MySQL shows metadata locks in performance_schema, on by default
	}
	if err := InstallLockInfo(ctx, db); err != nil {
		logf("sandbox: no metadata_lock_info plugin (%v)", err)
	}
}

// InstallLockInfo installs MariaDB's metadata_lock_info plugin on db's server unless it is active:
// the sandbox does at start; a test that uninstalled it puts it back with this.
func InstallLockInfo(ctx context.Context, db *sql.DB) error {
	var n int
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO' AND PLUGIN_STATUS = 'ACTIVE'").Scan(&n)
	if err == nil && n == 0 {
		_, err = db.ExecContext(ctx, "INSTALL SONAME 'metadata_lock_info'")
	}
	if err != nil {
		return fmt.Errorf("installing the metadata_lock_info plugin: %w", err)
	}
	return nil
}
