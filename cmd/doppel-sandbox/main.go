// Command doppel-sandbox starts a throwaway primary and replica for trying doppel by hand, prints how
// to reach them, and stops them on Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/doppel-sql/doppel/internal/sandbox"
)

func main() {
	noReplica := flag.Bool("no-replica", false, "start the primary only")
	dir := flag.String("dir", "", "directory to create the sandbox in (default: the system's temporary directory)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sb, err := sandbox.Start(ctx, sandbox.Options{NoReplica: *noReplica, Dir: *dir, ExtraArgs: flag.Args(), Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("primary: mariadb -h127.0.0.1 -P%d -uroot\n", sb.Primary.Config().Port)
	if sb.Replica != nil {
		fmt.Printf("replica: mariadb -h127.0.0.1 -P%d -uroot\n", sb.Replica.Config().Port)
	}
	fmt.Println("Ctrl-C stops both and removes their data.")
	<-ctx.Done()
	if err := sb.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
