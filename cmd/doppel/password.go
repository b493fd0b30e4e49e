package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// readPassword reads one line from in (gh-ost's --ask-pass), with the terminal's echo off while it
// is typed when in is a terminal; a pipe is read as it is, for scripts.
func readPassword(in *os.File, prompt io.Writer) (string, error) {
	fd := int(in.Fd())
	if old, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
		quiet := *old
		quiet.Lflag &^= unix.ECHO
		quiet.Lflag |= unix.ICANON | unix.ECHONL
		if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
			return "", fmt.Errorf("--ask-pass: turning the terminal's echo off: %w", err)
		}
		defer func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }()
	}
	fmt.Fprint(prompt, "Password: ")
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", fmt.Errorf("--ask-pass: reading the password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
