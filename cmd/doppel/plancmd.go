package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/migration"
	"github.com/doppel-sql/doppel/plan"
	"github.com/doppel-sql/doppel/table"
)

// runPlan is `doppel plan`: the pre-flight report of an ALTER, changing nothing. Its exit code is the
// verdict: 0 safe, 1 needs care, 2 refused; 3 when the plan could not be made.
func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o := &options{}
	fs := flag.NewFlagSet("doppel plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addConnFlags(fs, o)
	fs.StringVar(&o.database, "database", "", "database of the table (required)")
	fs.StringVar(&o.table, "table", "", "table the ALTER is for (required)")
	fs.StringVar(&o.alter, "alter", "", "the change, as in ALTER TABLE (required)")
	output := fs.String("output", "text", "text or json")
	// The migration's flags that decide whether it refuses the change.
	fs.BoolVar(&o.approveRenamed, "approve-renamed-columns", false, "as for a migration: the ALTER renames columns, carry their values over")
	fs.BoolVar(&o.skipRenamed, "skip-renamed-columns", false, "as for a migration: the ALTER renames columns, do not carry their values over")
	fs.BoolVar(&o.allowUniqueKeyChange, "allow-unique-key-change", false, "as for a migration: let the ALTER add a unique key, after checking the rows hold no duplicates")
	fs.BoolVar(&o.allowZeroInDate, "allow-zero-in-date", false, "as for a migration: the ALTER may set zero-date defaults")
	fs.BoolVar(&o.includeTriggers, "include-triggers", false, "as for a migration: move the table's triggers to the new table")
	fs.StringVar(&o.triggerSuffix, "trigger-suffix", migration.DefaultConfig().TriggerSuffix, "as for a migration: the triggers' temporary suffix")
	fs.BoolVar(&o.removeTriggerSuffix, "remove-trigger-suffix-if-exists", false, "as for a migration")
	fs.BoolVar(&o.discardFKs, "discard-foreign-keys", false, "as for a migration: the new table gets none of the table's own foreign keys")
	fs.BoolVar(&o.skipFKs, "skip-foreign-key-checks", false, "as for a migration: assert the table takes part in no foreign key")
	fs.BoolVar(&o.allowNullableKey, "allow-nullable-unique-key", false, "as for a migration: let the iteration key be a unique key whose columns allow NULL, after checking it holds none")
	allowDataLoss := fs.Bool("allow-data-loss", false, "accept clauses that lose data (dropped columns, narrowed types): needs care instead of refused")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "doppel plan says what an ALTER will do before doing it; it changes nothing.\n\n")
		fmt.Fprintf(fs.Output(), "Usage:\n  doppel plan --host=H --user=U --database=D --table=T --alter=\"...\" [--output=json]\n\nExit codes: 0 safe, 1 needs care, 2 refused, 3 error.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 3
	}
	if *output != "text" && *output != "json" {
		fmt.Fprintf(stderr, "doppel plan: --output %q: use text or json\n", *output)
		return 3
	}
	if o.database == "" || o.table == "" || o.alter == "" {
		fmt.Fprintln(stderr, "doppel plan: --database, --table and --alter are required")
		return 3
	}
	conn, err := o.connConfig(fs)
	if err == nil && (conn.Port < 1 || conn.Port > migration.MaxPort) {
		err = fmt.Errorf("--port %d is out of range: use 1 to %d", conn.Port, migration.MaxPort)
	}
	if err != nil {
		fmt.Fprintln(stderr, "doppel plan:", err)
		return 3
	}
	refusal := checkRequest(ctx, conn, o)
	if refusal != nil && !migration.IsRefusal(refusal) {
		fmt.Fprintln(stderr, "doppel plan:", refusal)
		return 3
	}
	r, err := buildPlan(ctx, conn, o, plan.Options{AllowDataLoss: *allowDataLoss, AllowNullableUniqueKey: o.allowNullableKey})
	switch {
	case err != nil && refusal != nil:
		// Nothing to plan (the ALTER cannot be read, the table is missing): the refusal is the report.
		r = &plan.Report{Database: o.database, Table: o.table, Alter: o.alter}
	case err != nil:
		fmt.Fprintln(stderr, "doppel plan:", err)
		return 3
	}
	if refusal != nil {
		r.Refuse(refusal.Error())
	}
	r.ShowExitCode = true
	if *output == "json" {
		err = r.WriteJSON(stdout)
	} else {
		err = r.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "doppel plan:", err)
		return 3
	}
	return r.ExitCode()
}

// checkRequest runs the migration's own checks of the change (migration.CheckRequest), so that the
// plan refuses, in the same words, whatever a migration with these flags refuses.
func checkRequest(ctx context.Context, conn dbconn.Config, o *options) error {
	db, err := dbconn.Open(conn, "")
	if err != nil {
		return err
	}
	defer db.Close()
	cfg := migration.DefaultConfig()
	cfg.Conn, cfg.AllowOnMaster = conn, true
	cfg.Database, cfg.Table, cfg.Alter = o.database, o.table, o.alter
	cfg.ApproveRenamedColumns, cfg.SkipRenamedColumns = o.approveRenamed, o.skipRenamed
	cfg.AllowUniqueKeyChange, cfg.AllowZeroInDate = o.allowUniqueKeyChange, o.allowZeroInDate
	cfg.IncludeTriggers, cfg.TriggerSuffix, cfg.RemoveTriggerSuffixIfExists = o.includeTriggers, o.triggerSuffix, o.removeTriggerSuffix
	cfg.DiscardForeignKeys, cfg.SkipForeignKeyChecks = o.discardFKs, o.skipFKs
	cfg.AllowNullableUniqueKey = o.allowNullableKey
	return migration.CheckRequest(ctx, cfg, db)
}

// buildPlan reads the ALTER as the server reads it, as a migration does (without refusing what a
// migration refuses: the report says why), and the table as table.Inspect reads it, then plans.
func buildPlan(ctx context.Context, conn dbconn.Config, o *options, opts plan.Options) (*plan.Report, error) {
	db, err := dbconn.Open(conn, "")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := dbconn.Ping(ctx, db, conn); err != nil {
		return nil, err
	}
	flavor, err := dbconn.DetectFlavor(ctx, db)
	if err != nil {
		return nil, err
	}
	srv, err := alter.ReadServer(ctx, db)
	if err != nil {
		return nil, err
	}
	a, err := alter.Read(o.alter, o.database, o.table, srv)
	if err != nil {
		return nil, err
	}
	t, err := table.Inspect(ctx, db, o.database, o.table)
	if err != nil {
		return nil, err
	}
	return plan.Build(ctx, db, flavor, t, a, opts)
}
