package sandbox

import "syscall"

// procAttr makes the server die with the thread that started it, and gives it its own process group
// so a Ctrl-C meant for the test run reaches the test first and the sandbox shuts down cleanly.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
