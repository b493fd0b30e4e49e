//go:build unix

package hooks

import (
	"os/exec"
	"syscall"
)

// killGroup starts the hook in its own process group and makes cancelling it kill the whole group,
// so that a shell script's children (a sleep, a curl) die with it instead of outliving doppel.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
