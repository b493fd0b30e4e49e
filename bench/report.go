package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func printReport(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "\n%s, %d CPUs; %s\n%s\nALTER %s\n", rep.Server, rep.CPUs, rep.Settings, rep.Topology, rep.Alter)
	if len(rep.Sweep) > 0 {
		printSweep(w, rep.Sweep)
		return
	}
	fmt.Fprintf(w, "%d rows\n\n", rep.Rows)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "run\tprimary\treplica has it\trows/s\tvs native COPY\tvs gh-ost\tpeak lag\tCPU s primary/replica/tool\tpeak RSS\tcut-over blocked")
	for _, r := range rep.Results {
		rss, blocked, ghost := "", "", ""
		if r.PeakRSSMiB > 0 {
			rss = fmt.Sprintf("%.0f MiB", r.PeakRSSMiB)
		}
		if r.BlockedMs > 0 {
			blocked = fmt.Sprintf("%.0f ms", r.BlockedMs)
		}
		if r.BlocksAll {
			blocked = "the whole ALTER"
		}
		if r.VsGhost > 0 {
			ghost = fmt.Sprintf("%.2fx", r.VsGhost)
		}
		tool := ""
		if v, ok := r.CPU["tool"]; ok {
			tool = fmt.Sprintf("/%.1f", v)
		}
		native := ""
		if r.VsNative > 0 {
			native = fmt.Sprintf("%.2fx", r.VsNative)
		}
		fmt.Fprintf(tw, "%s\t%.2fs\t%.2fs\t%.0f\t%s\t%s\t%.2fs\t%.1f/%.1f%s\t%s\t%s\n", r.Name, r.Seconds, r.ReplicaSeconds, r.RowsPerSec,
			native, ghost, r.PeakLagMs/1000, r.CPU["primary"], r.CPU["replica"], tool, rss, blocked)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, r := range rep.Results {
		if r.Phases != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Name, r.Phases)
		}
		if r.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Name, r.Note)
		}
	}
	for _, r := range rep.Results {
		if r.Load != nil {
			printLoad(w, r)
		}
	}
	printTargets(w, rep.Results)
}

func printLoad(w io.Writer, r Result) {
	l := r.Load
	fmt.Fprintf(w, "\n%s: write load at %.0f tx/s (%d committed, %d failed; migrated table = oracle: %v); %.2fx the idle time\n",
		r.Name, l.Rate, l.Committed, l.Failed, l.OracleMatches, r.VsIdle)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\ttx\tp50\tp95\tp99\tmax")
	row := func(name string, l Latency) {
		fmt.Fprintf(tw, "%s\t%d\t%.1f ms\t%.1f ms\t%.1f ms\t%.1f ms\n", name, l.Count, l.P50, l.P95, l.P99, l.Max)
	}
	row("before", l.Before)
	row("during", l.During)
	for _, p := range l.ByPhase {
		row("  "+p.Phase, p.Latency)
	}
	row("after", l.After)
	tw.Flush()
	fmt.Fprintf(w, "longest stall during the migration: %.0f ms; around the cut-over: %.0f ms; p95 during / before: %.2fx; the replica's peak lag under the load alone, before: %.2fs\n",
		l.LongestStall, l.CutOverStall, l.During.P95/max(l.Before.P95, 0.001), l.PeakLagBeforeMs/1000)
}

func printSweep(w io.Writer, sweep []Result) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "rows\tprimary\treplica has it\trows/s\tvs the first\tpeak lag\tpeak RSS\tphases")
	for _, r := range sweep {
		fmt.Fprintf(tw, "%d\t%.2fs\t%.2fs\t%.0f\t%.2f\t%.2fs\t%.0f MiB\t%s\n", r.Rows, r.Seconds, r.ReplicaSeconds, r.RowsPerSec,
			r.RowsPerSec/sweep[0].RowsPerSec, r.PeakLagMs/1000, r.PeakRSSMiB, r.Phases)
	}
	tw.Flush()
}

// printTargets says, for issue 16's targets, whether this run met them.
func printTargets(w io.Writer, results []Result) {
	find := func(k kind, name string) *Result {
		for i := range results {
			if results[i].Kind == k && (name == "" || strings.HasPrefix(results[i].Name, name)) {
				return &results[i]
			}
		}
		return nil
	}
	var lines []string
	check := func(ok bool, format string, args ...any) {
		verdict := "met"
		if !ok {
			verdict = "GAP"
		}
		lines = append(lines, fmt.Sprintf("  %-4s %s", verdict, fmt.Sprintf(format, args...)))
	}
	idle := find(kindDoppel, "doppel, defaults")
	if idle != nil {
		check(idle.PeakLagMs <= 1500, "default mode: replica lag ≤ --max-lag-millis 1.5 s throughout (peak %.2f s, sampled every 100 ms)", idle.PeakLagMs/1000)
		if idle.VsGhost > 0 {
			check(idle.VsGhost <= 0.6, "idle time ≤ 0.6× gh-ost's (%.2fx)", idle.VsGhost)
			if g, f := find(kindGhost, ""), find(kindFloor, "floor: "); idle.VsGhost > 0.6 && g != nil && f != nil && g.Seconds > 0 {
				// The replica replays every copied row with its indexes; one that applies serially
				// does it on one thread, so that work bounds any copy that keeps the lag bounded.
				lines = append(lines, fmt.Sprintf("       the replica spent %.1f CPU s replaying the floor's rows: %.2fx gh-ost's time, the least any copy that keeps the indexes can take while a serial replica keeps up",
					f.CPU["replica"], f.CPU["replica"]/g.Seconds))
			}
		}
		if idle.VsNative > 0 {
			check(idle.VsNative <= 1.6, "idle time ≤ 1.6× native ALGORITHM=COPY (%.2fx)", idle.VsNative)
		}
		check(idle.BlockedMs <= 50, "cut-over blocked ≤ 50 ms (%.0f ms)", idle.BlockedMs)
		check(idle.PeakRSSMiB <= 64, "doppel's peak memory ≤ 64 MiB (%.0f MiB)", idle.PeakRSSMiB)
	}
	if l := find(kindDoppel, "doppel, under"); l != nil && l.VsIdle > 0 {
		check(l.VsIdle <= 1.3, "under load: time ≤ 1.3× idle (%.2fx)", l.VsIdle)
		check(l.PeakLagMs <= 1500, "under load: replica lag ≤ 1.5 s (peak %.2f s)", l.PeakLagMs/1000)
	}
	if l := find(kindDoppel, "doppel --max-commit-latency"); l != nil && l.Load != nil {
		check(l.Load.During.P95 <= 2*l.Load.Before.P95, "latency target on: load p95 during ≤ 2× before (%.1f / %.1f ms = %.2fx; time %.2fx idle)",
			l.Load.During.P95, l.Load.Before.P95, l.Load.During.P95/max(l.Load.Before.P95, 0.001), l.VsIdle)
	}
	if len(lines) > 0 {
		fmt.Fprintln(w, "\ntargets (issue 16):")
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	}
}
