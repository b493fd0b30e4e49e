package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/control"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/migration"
)

// repeated is a flag that may be given several times (--table, --alter): every value is kept in
// order, and the first is the flag's value for what takes one.
type repeated struct {
	first *string
	all   *[]string
}

func (r *repeated) String() string {
	if r.first == nil {
		return ""
	}
	return *r.first
}

func (r *repeated) Set(v string) error {
	if len(*r.all) == 0 {
		*r.first = v
	}
	*r.all = append(*r.all, v)
	return nil
}

// groupConfigs turns a command line with several --table/--alter pairs into one Config per table,
// each a copy of cfg with its table and ALTER. Each table gets its own socket (the one
// --serve-socket-file names, with the table's name appended after the first); the TCP port, the
// metrics and the progress bar follow the first table.
func (o *options) groupConfigs(cfg migration.Config) ([]migration.Config, error) {
	if len(o.tables) != len(o.alters) {
		return nil, fmt.Errorf("%d --table and %d --alter given: give them in pairs, --table=a --alter=\"…\" --table=b --alter=\"…\", the n-th --alter for the n-th --table", len(o.tables), len(o.alters))
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	cfgs := make([]migration.Config, len(o.tables))
	for i := range o.tables {
		c := cfg
		c.Table, c.Alter = o.tables[i], o.alters[i]
		switch {
		case o.socketFile == "":
			c.SocketPath = control.DefaultSocketPath(c.Database, c.Table)
		case i > 0:
			c.SocketPath = o.socketFile + "." + c.Table
		}
		if i > 0 {
			c.TCPAddr, c.Metrics, c.OnProgress = "", nil, nil
			c.Logger = cfg.Logger.With(zap.String("table", c.Table))
		}
		cfgs[i] = c
	}
	if len(cfgs) > 0 {
		cfgs[0].Logger = cfg.Logger.With(zap.String("table", cfgs[0].Table))
	}
	return cfgs, nil
}

// runGroup migrates several tables together (migration.RunGroup) and reports each.
func runGroup(ctx context.Context, o *options, cfg migration.Config, logger *zap.Logger, stdout, stderr io.Writer) int {
	cfgs, err := o.groupConfigs(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "doppel:", err)
		return 2
	}
	names := make([]string, len(cfgs))
	for i, c := range cfgs {
		names[i] = sqlbuild.QualifiedName(c.Database, c.Table)
	}
	res, err := migration.RunGroup(ctx, cfgs)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %w", err)
		}
		logger.Error("group migration failed", zap.Error(err))
		fmt.Fprintf(stderr, "doppel: %v\n", err)
		switch {
		case migration.Swapped(err):
			fmt.Fprintf(stderr, "doppel: the tables were swapped together: %s are the migrated tables.\n", strings.Join(names, ", "))
		case migration.Untouched(err) && !migration.IsRefusal(err):
			fmt.Fprintf(stderr, "doppel: the original tables %s are untouched.\n", strings.Join(names, ", "))
		}
		return 1
	}
	if len(res) == 0 || res[0] == nil || res[0].DryRun {
		return 0
	}
	for i, r := range res {
		fmt.Fprintf(stdout, "doppel: migrated %s in %s: %d rows copied, %d changes replayed; phases: %s.\n",
			names[i], r.Duration.Round(time.Millisecond), r.RowsCopied, r.ChangesApplied, phaseTimes(r.Phases))
		if r.OldTable != "" {
			fmt.Fprintf(stdout, "doppel: the original table is kept as %s; drop it when you no longer need it.\n", sqlbuild.QualifiedName(cfgs[i].Database, r.OldTable))
		}
	}
	fmt.Fprintf(stdout, "doppel: %d tables swapped together in one RENAME; tables blocked %s at the cut-over (attempts %d), peak memory %.0f MiB.\n",
		len(res), res[0].CutOver.Blocked.Round(time.Millisecond), res[0].CutOver.Attempts, peakRSSMiB())
	return 0
}
