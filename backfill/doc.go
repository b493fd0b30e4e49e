// Package backfill runs a data migration, an UPDATE of one table or an INSERT … SELECT from one, in
// ranges of the table's key, each range its own transaction: throttled by the migration's signals
// (replica lag, load, flag files, the throttle query, the operator on the control socket), sized to
// a target time per chunk, checkpointed in the same transaction as each chunk and resumable.
//
// Parse reads and refuses the statement; Run runs it (with Config.Execute) or counts the rows it
// would touch. docs/backfill.md describes it for users.
package backfill

// Directive, on the line before a statement of a migration file, makes doppel migrate run the
// statement as a backfill. Parse reads it as the comment it is, so the statement may be given
// with it.
const Directive = "-- doppel:backfill"
