//go:build !unix

package hooks

import "os/exec"

// killGroup leaves cancellation to exec: only the hook itself is killed.
func killGroup(*exec.Cmd) {}
