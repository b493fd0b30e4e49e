package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// ensureTemplate returns a freshly initialized data directory for bin, creating it once per binary
// and machine. Initializing takes seconds; copying the template takes a fraction of that, and every
// test package starts its own sandbox.
func ensureTemplate(ctx context.Context, bin string, k kind, logf func(string, ...any)) (string, error) {
	sum := sha256.Sum256([]byte(bin + "\x00" + k.version.String()))
	dir := filepath.Join(os.TempDir(), "doppel-sandbox-template-"+hex.EncodeToString(sum[:6]))
	ready := filepath.Join(dir, ".doppel-ready")
	if _, err := os.Stat(ready); err == nil {
		return dir, nil
	}
	// Several test packages may start at once: one initializes, the others wait on the lock.
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", fmt.Errorf("locking the sandbox template: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("locking the sandbox template: %w", err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	if _, err := os.Stat(ready); err == nil {
		return dir, nil
	}
	logf("sandbox: initializing a data directory template with %s", bin)
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := initDataDir(ctx, bin, k, tmp); err != nil {
		_ = os.RemoveAll(tmp)
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".doppel-ready"), nil, 0o600); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("installing the sandbox template: %w", err)
	}
	return dir, nil
}

func initDataDir(ctx context.Context, bin string, k kind, dataDir string) error {
	var cmd *exec.Cmd
	if k.mariadb {
		installer, err := findInstaller(bin)
		if err != nil {
			return err
		}
		args := []string{"--no-defaults", "--datadir=" + dataDir, "--auth-root-authentication-method=normal", "--skip-test-db"}
		if os.Geteuid() == 0 {
			args = append(args, "--user=root")
		}
		cmd = exec.CommandContext(ctx, installer, args...)
	} else {
		args := []string{"--no-defaults", "--initialize-insecure", "--datadir=" + dataDir}
		if os.Geteuid() == 0 {
			args = append(args, "--user=root")
		}
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initializing a data directory with %s: %w\n%s", cmd.Path, err, out)
	}
	return nil
}

// findInstaller finds mariadb-install-db next to the server binary or on PATH.
func findInstaller(bin string) (string, error) {
	binDir := filepath.Dir(bin)
	for _, name := range []string{"mariadb-install-db", "mysql_install_db"} {
		for _, dir := range []string{binDir, filepath.Join(filepath.Dir(binDir), "bin"), filepath.Join(filepath.Dir(binDir), "scripts")} {
			if p := filepath.Join(dir, name); isExecutable(p) {
				return p, nil
			}
		}
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("mariadb-install-db not found next to %s or on PATH", bin)
}

// copyDir copies a data directory template, keeping modes.
func copyDir(src, dst string) error {
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		return fmt.Errorf("copying %s to %s: %w: %s", src, dst, err, out)
	}
	return os.Remove(filepath.Join(dst, ".doppel-ready"))
}
