// Package plan says what an ALTER will do before doppel does it: whether the server could run it
// natively (INSTANT, INPLACE while writes go on, or only by copying) for its own flavour and version,
// what each clause risks (safe, needs care, data loss) and why, what the table weighs, how much disk and
// binlog retention the copy needs, how long the copy should take, and in which order the change and the
// application code must ship.
//
// The plan classifies the ALTER as package alter read it (the server's executable comments and
// character sets, MariaDB syntax) against the table as table.Inspect read it; it parses and reads
// neither itself:
//
//	a, err := alter.Read(text, "shop", "orders", srv)    // srv from alter.ReadServer
//	t, err := table.Inspect(ctx, db, "shop", "orders")
//	r, err := plan.Build(ctx, db, flavor, t, a, plan.Options{})
//	r.WriteText(os.Stdout)   // or r.WriteJSON(os.Stdout) for --output=json
//	os.Exit(r.ExitCode())    // 0 safe, 1 needs care, 2 refused
//
//	if r.Verdict != plan.VerdictRefused && r.Instant() {
//		// --attempt-instant-ddl: the migration runs "ALTER TABLE … <clause>, ALGORITHM=INSTANT"
//	}
//
// Build only reads: the table's triggers and foreign keys and its size (package table), a few server
// variables, a GROUP BY for a new UNIQUE key, a NULL probe for a new NOT NULL, and a timed sample of a
// few chunks read with plain SELECTs. It never prints or logs row values. Classify is the pure part on
// its own. Which operations run INSTANT or INPLACE on which server is one data table, rules in
// rules.go, with its sources in docs/plan.md.
package plan
