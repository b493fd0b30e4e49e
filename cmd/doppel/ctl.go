package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/doppel-sql/doppel/control"
)

// runCtl is `doppel ctl`: it sends one interactive command to a running migration and prints the
// answer, so operators need no nc. Exit code 0 when the command was accepted, 1 when it was refused,
// 2 for a bad command line or an unreachable migration.
func runCtl(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("doppel ctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "", "the migration's --serve-socket-file (default from --database and --table)")
	tcp := fs.String("tcp", "", "the migration's --serve-tcp-port address instead, e.g. 127.0.0.1:10001")
	database := fs.String("database", "", "the migrated database, to find the default socket")
	table := fs.String("table", "", "the migrated table, to find the default socket")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the answer")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "doppel ctl sends an interactive command to a running migration.\n\n")
		fmt.Fprintf(fs.Output(), "Usage:\n  doppel ctl [--socket PATH | --tcp ADDR | --database D --table T] <command>\n\n")
		fmt.Fprintf(fs.Output(), "Commands: help, status, sup, chunk-size=N, throttle, no-throttle, unpostpone, panic, revert, end-revert-window, ... (see docs/interactive-commands.md)\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "doppel ctl: --timeout %s must be positive\n", *timeout)
		return 2
	}
	command := strings.Join(fs.Args(), " ")
	if command == "" {
		fmt.Fprintln(stderr, "doppel ctl: give a command, e.g. doppel ctl --database shop --table orders status")
		return 2
	}
	network, address := "unix", *socket
	switch {
	case *tcp != "":
		network, address = "tcp", *tcp
	case address == "" && *database != "" && *table != "":
		address = control.DefaultSocketPath(*database, *table)
	case address == "":
		fmt.Fprintln(stderr, "doppel ctl: say where the migration listens: --socket, --tcp, or --database and --table")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	answer, err := control.Send(ctx, network, address, command)
	fmt.Fprint(stdout, answer)
	switch {
	case errors.Is(err, control.ErrCommand):
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "doppel ctl: %v\n", err)
		return 2
	}
	return 0
}
