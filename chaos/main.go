// Command chaos is `make chaos`: randomized faults during live migrations, checked against an
// oracle. It starts a throwaway primary and replica, then, run after run, migrates a table of mixed
// types (a composite key of a string and an integer, NULLs, multibyte text, JSON, BLOB, fractional
// times) under a random write load that mirrors every transaction into an oracle table, while it
// injects one to three faults drawn at random in kind and moment: doppel killed (then resumed),
// stopped and continued past the lock timeouts, a server restarted, the replica's threads stopped,
// doppel's connections killed, binlog rotation storms, rows held locked. Each run must end with the
// migrated table equal to the oracle altered natively, the replica equal to the primary, and
// nothing held back; a run that fails is resumed, as an operator would, until it migrates or the
// attempts run out. A seed reproduces a run's faults (the load's interleaving aside). It prints a
// table of runs, faults and outcomes, and exits non-zero if any row was lost or wrong.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/doppel-sql/doppel/internal/sandbox"
)

type options struct {
	doppel  string
	runs    int
	seed    uint64
	rows    int
	verbose bool
}

func main() {
	var o options
	flag.StringVar(&o.doppel, "doppel", "bin/doppel", "the doppel binary to run")
	flag.IntVar(&o.runs, "runs", 100, "migrations to run, each with one to three random faults")
	flag.Uint64Var(&o.seed, "seed", 0, "the first run's seed (run i uses seed+i); 0 picks one from the clock")
	flag.IntVar(&o.rows, "rows", 10000, "rows in each run's table")
	flag.BoolVar(&o.verbose, "v", false, "print doppel's output of every attempt")
	flag.Parse()
	// The driver logs every connection a fault cuts ("unexpected EOF"): expected here, and noise.
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano() % 1_000_000)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
	if rep.lost > 0 || rep.wrong > 0 || rep.unfinished > 0 {
		os.Exit(1)
	}
}

// report sums the runs.
type report struct {
	runs, migrated, resumed, unfinished int
	faults, struck                      map[string]int
	attempts                            int
	rowsCompared                        int64
	lost, wrong                         int
	failures                            []string
	took                                time.Duration
}

func run(ctx context.Context, o options, out *os.File) (*report, error) {
	if _, err := os.Stat(o.doppel); err != nil {
		return nil, fmt.Errorf("the doppel binary %s: %w (run make build)", o.doppel, err)
	}
	start := time.Now()
	sb, err := sandbox.Start(ctx, sandbox.Options{})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := sb.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "chaos: stopping the sandbox:", err)
		}
	}()
	// doppel reaches both servers through proxies that can cut its network.
	toPrimary, err := newProxy(sb.Primary.Config().Addr())
	if err != nil {
		return nil, err
	}
	defer toPrimary.close()
	toReplica, err := newProxy(sb.Replica.Config().Addr())
	if err != nil {
		return nil, err
	}
	defer toReplica.close()
	fmt.Fprintf(out, "chaos: %s %s, primary %s, replica %s; %d runs from seed %d\n",
		sb.Flavor.Name(), sb.Flavor.Version(), sb.Primary.Config().Addr(), sb.Replica.Config().Addr(), o.runs, o.seed)
	rep := &report{faults: map[string]int{}, struck: map[string]int{}}
	for i := range o.runs {
		if ctx.Err() != nil {
			break
		}
		seed := o.seed + uint64(i)
		r := &chaosRun{o: o, sb: sb, toPrimary: toPrimary, toReplica: toReplica, seed: seed,
			rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), schema: fmt.Sprintf("chaos_%d", seed)}
		res := r.run(ctx)
		rep.runs++
		rep.attempts += res.attempts
		for _, f := range res.faults {
			rep.faults[f]++
		}
		for _, f := range res.struck {
			rep.struck[f]++
		}
		rep.rowsCompared += res.rows
		switch {
		case res.err != nil:
			rep.unfinished++
			rep.failures = append(rep.failures, fmt.Sprintf("seed %d (%s): %v", seed, strings.Join(res.faults, ", "), res.err))
		case res.attempts > 1:
			rep.resumed++
			rep.migrated++
		default:
			rep.migrated++
		}
		rep.lost += res.lost
		rep.wrong += res.wrong
		status := "migrated"
		if res.err != nil {
			status = "FAILED: " + res.err.Error()
		}
		fmt.Fprintf(out, "run %3d  seed %-8d  %-90s  struck %d  attempts %d  %s  (%s)\n", i+1, seed, strings.Join(res.faults, ", "), len(res.struck), res.attempts, status, res.took.Round(100*time.Millisecond))
	}
	rep.took = time.Since(start)
	printReport(out, rep)
	return rep, nil
}

func printReport(out *os.File, rep *report) {
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "runs\t%d\n", rep.runs)
	fmt.Fprintf(w, "migrated, oracle equal\t%d (%d of them after one or more resumes)\n", rep.migrated, rep.resumed)
	fmt.Fprintf(w, "not migrated\t%d\n", rep.unfinished)
	fmt.Fprintf(w, "doppel runs (attempts)\t%d\n", rep.attempts)
	fmt.Fprintf(w, "rows compared\t%d\n", rep.rowsCompared)
	fmt.Fprintf(w, "rows lost\t%d\n", rep.lost)
	fmt.Fprintf(w, "rows wrong\t%d\n", rep.wrong)
	fmt.Fprintf(w, "took\t%s\n", rep.took.Round(time.Second))
	w.Flush()
	kinds := make([]string, 0, len(rep.faults))
	for k := range rep.faults {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	fmt.Fprintln(out, "\nfaults drawn, and how many struck while doppel ran:")
	w = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, k := range kinds {
		fmt.Fprintf(w, "  %s\t%d\t%d\n", k, rep.faults[k], rep.struck[k])
	}
	w.Flush()
	for _, f := range rep.failures {
		fmt.Fprintln(out, "FAILED", f)
	}
}

// errLost marks a comparison that found rows missing or different.
var errLost = errors.New("rows lost or wrong")
