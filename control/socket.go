package control

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
)

// maxSocketPath is the longest Unix socket path Linux accepts (sun_path holds 108 bytes with the
// terminating NUL).
const maxSocketPath = 107

// socketFile is the socket's path and the file Listen created there, so that only that file is
// removed at the end, not one another process put there meanwhile.
type socketFile struct {
	path string
	info os.FileInfo
}

func (f *socketFile) remove() error {
	now, err := os.Lstat(f.path)
	if err != nil || !os.SameFile(now, f.info) {
		return nil
	}
	if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the control socket %s: %w", f.path, err)
	}
	return nil
}

// listenUnix creates a Unix socket at path that only its owner can use. A socket file is created
// with the process's umask, so it is bound in a fresh private directory next to path, given mode
// 0600 there, and only then linked to path: no one else can connect in between. Linking, unlike
// renaming, fails when path exists, so a live server's socket is never replaced.
func listenUnix(path string, dropLive bool, log *zap.Logger) (*socketFile, net.Listener, error) {
	if len(path) > maxSocketPath {
		return nil, nil, fmt.Errorf("control socket path %s is %d bytes long; the system allows %d: choose a shorter --serve-socket-file", path, len(path), maxSocketPath)
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".doppel-")
	if err != nil {
		return nil, nil, fmt.Errorf("creating the control socket %s: %w", path, err)
	}
	defer os.RemoveAll(dir)
	private := filepath.Join(dir, "s")
	if len(private) > maxSocketPath {
		return nil, nil, fmt.Errorf("control socket path %s is too long to create safely: choose a shorter --serve-socket-file", path)
	}
	l, err := net.Listen("unix", private)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the control socket %s: %w", path, err)
	}
	// The private name disappears with its directory; the socket itself lives on under path.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	fail := func(err error) (*socketFile, net.Listener, error) {
		_ = l.Close()
		return nil, nil, err
	}
	if err := os.Chmod(private, 0o600); err != nil {
		return fail(fmt.Errorf("restricting the control socket to its owner: %w", err))
	}
	err = os.Link(private, path)
	if errors.Is(err, fs.ErrExist) {
		if err := removeStale(path, dropLive, log); err != nil {
			return fail(err)
		}
		err = os.Link(private, path)
	}
	if err != nil {
		return fail(fmt.Errorf("creating the control socket %s: %w", path, err))
	}
	info, err := os.Lstat(path)
	if err != nil {
		return fail(fmt.Errorf("creating the control socket %s: %w", path, err))
	}
	return &socketFile{path: path, info: info}, l, nil
}

// removeStale removes a socket file no process listens on any more (one left by a killed run). A
// live socket is left alone and reported unless dropLive (gh-ost's --initially-drop-socket-file);
// anything that is not a socket always is.
func removeStale(path string, dropLive bool, log *zap.Logger) error {
	info, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("checking %s: %w", path, err)
	}
	if info.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket; doppel will not remove it: choose another --serve-socket-file", path)
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	switch {
	case err == nil && dropLive:
		_ = conn.Close()
		log.Warn("removing a control socket another process serves (--initially-drop-socket-file): that process can no longer be reached through it", zap.String("path", path))
	case err == nil:
		_ = conn.Close()
		return fmt.Errorf("another process is serving on %s (a doppel migrating the same table?): stop it, or choose another --serve-socket-file (or pass --initially-drop-socket-file to take the path over)", path)
	default:
		log.Info("removing a stale control socket", zap.String("path", path))
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the stale control socket %s: %w", path, err)
	}
	return nil
}
