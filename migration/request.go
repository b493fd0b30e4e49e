package migration

import (
	"context"
	"database/sql"

	"github.com/doppel-sql/doppel/alter"
	"github.com/doppel-sql/doppel/dbconn"
)

// CheckRequest runs the checks of the ALTER, the table and its rows that a migration runs before it
// creates anything, on the server db (cfg.Conn's), and returns the migration's refusal word for
// word, or nil. doppel plan's verdict includes it, so that plan never calls safe what --execute
// refuses. The server's setup (binlog, privileges, replicas, throttling) and the leftovers of an
// earlier run are checked by the migration alone: they are about where and when it runs, not about
// the change. Like validate, it changes nothing: its probe is a TEMPORARY table of its own session.
func CheckRequest(ctx context.Context, cfg Config, db *sql.DB) error {
	if err := cfg.Check(); err != nil {
		return &refusal{msg: err.Error()}
	}
	flavor, err := dbconn.DetectFlavor(ctx, db)
	if err != nil {
		return err
	}
	s := &servers{flavor: flavor, inspect: db, inspectCfg: cfg.Conn, primary: db, primaryCfg: cfg.Conn}
	server, err := alter.ReadServer(ctx, db)
	if err != nil {
		return err
	}
	a, err := alter.Parse(cfg.Alter, cfg.Database, cfg.Table, server)
	if err != nil {
		return &refusal{msg: err.Error()}
	}
	p, err := newValidated(&cfg, a)
	if err != nil {
		return err
	}
	if err := checkTable(ctx, &cfg, s, p); err != nil {
		return err
	}
	return checkRequest(ctx, &cfg, s, p)
}
