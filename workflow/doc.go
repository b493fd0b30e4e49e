// Package workflow runs a directory of versioned migrations the way teams ship schema changes: numbered
// files kept with the code (golang-migrate's 0001_name.up.sql / 0001_name.down.sql, or Flyway's
// V1__name.sql / U1__name.sql), a history table that records every run with the file's SHA-256 so an
// applied file is never edited behind the database's back, a GET_LOCK per schema so two deployers
// never run at once, and each statement run the best way:
//
//   - what the pre-flight plan (package plan) calls instant runs natively, with a bounded
//     lock_wait_timeout and retries, so a long transaction cannot queue the application behind it;
//   - an ALTER TABLE of a table at or above Config.OnlineThreshold runs through the online engine
//     (the Online interface; cmd/doppel implements it with the migration package, which this package
//     may not import), resumable from its checkpoint when an interrupted `up` runs again;
//   - a statement after a "-- doppel:backfill" line runs through the Backfiller (batched, throttled);
//   - everything else (CREATE, DROP, RENAME, small tables, data statements) runs natively.
//
// Every pending statement is planned before the first one runs, and a statement the plan refuses
// stops the run with nothing executed. A statement on a table an earlier pending statement changes
// is planned again just before it runs, when the table is as it will be.
//
// Test runs every pending migration up, down and up again on a throwaway server holding the current
// schema and fails when a down does not restore the schema exactly.
//
// Files are split into statements with the TiDB parser as package alter reads a statement for the
// server (its character sets, executable comments, MariaDB syntax); only the directive and comment
// lines are read line by line.
package workflow
