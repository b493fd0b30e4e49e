package triggers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// Build completes the twins' statements of moves (Plan's) for schema.ghost: the header in the
// trigger's character set, then its body as it was created. With a flavour whose statements keep
// their order clause, a trigger that shares its timing and event with another is restored from
// its parts too (Final), following its predecessor.
func Build(ctx context.Context, q Querier, f Flavor, schema, table, ghost string, moves []Move) error {
	sorted := make([]Trigger, len(moves))
	for i, m := range moves {
		sorted[i] = m.Trigger
	}
	pred := Predecessors(sorted)
	for i := range moves {
		m := &moves[i]
		follows, final := "", ""
		if p := pred[i]; p >= 0 {
			follows, final = moves[p].Temp, moves[p].Name
		}
		head, err := inCharset(ctx, q, TwinHeader(m.Trigger, schema, ghost, m.Temp, follows), m.CharsetClient)
		if err != nil {
			return fmt.Errorf("writing trigger %s for the ghost table: %w", sqlbuild.QuoteIdent(m.Name), err)
		}
		m.Twin = append(head, m.Body...)
		if f.StatementKeepsOrder() && (pred[i] >= 0 || (i+1 < len(moves) && pred[i+1] == i)) {
			head, err := inCharset(ctx, q, TwinHeader(m.Trigger, schema, table, m.Name, final), m.CharsetClient)
			if err != nil {
				return fmt.Errorf("writing trigger %s for the new table: %w", sqlbuild.QuoteIdent(m.Name), err)
			}
			m.Statement = append(head, m.Body...)
		}
	}
	return nil
}

// inCharset returns s (UTF-8) in the character set cs, converted by the server; ASCII and the
// UTF-8 sets need no conversion. A character cs cannot hold is an error.
func inCharset(ctx context.Context, q Querier, s, cs string) ([]byte, error) {
	if isASCII(s) || cs == "utf8mb4" || cs == "utf8mb3" || cs == "utf8" {
		return []byte(s), nil
	}
	var out []byte
	var same sql.NullBool
	err := q.QueryRowContext(ctx, "SELECT CONVERT(? USING "+cs+"), CAST(CONVERT(CONVERT(? USING "+cs+") USING utf8mb4) AS BINARY) = CAST(? AS BINARY)", s, s, s).Scan(&out, &same)
	if err != nil {
		return nil, err
	}
	if !same.Valid || !same.Bool {
		return nil, fmt.Errorf("the names %q cannot be written in the trigger's character set %s", s, cs)
	}
	return out, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// session sets conn up as the trigger was created: sql_mode, character_set_client and
// collation_connection (which sets character_set_connection too), in one statement, unless the
// previous trigger had the same (prev; nil for none).
func session(ctx context.Context, conn *sql.Conn, t Trigger, prev *Trigger) error {
	if prev != nil && prev.SQLMode == t.SQLMode && prev.CharsetClient == t.CharsetClient && prev.CollationConnection == t.CollationConnection {
		return nil
	}
	_, err := conn.ExecContext(ctx, SessionSQL(t))
	return err
}

// SessionSQL sets a session up as t was created in. The character set and collation are words
// (Read checks them), the sql_mode a string.
func SessionSQL(t Trigger) string {
	return "SET SESSION sql_mode = " + sqlbuild.QuoteString(t.SQLMode) + ", character_set_client = " + t.CharsetClient + ", collation_connection = " + t.CollationConnection
}

// setLockWait bounds the session's waits for metadata locks, in whole seconds (at least 1).
func setLockWait(ctx context.Context, conn *sql.Conn, d time.Duration) error {
	_, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", max(1, int(d.Round(time.Second)/time.Second))))
	return err
}

func prevOf(moves []Move, i int) *Trigger {
	if i == 0 {
		return nil
	}
	return &moves[i-1].Trigger
}

// exec runs a statement held as bytes: sent as they are, without arguments.
func exec(ctx context.Context, conn *sql.Conn, stmt []byte) error {
	_, err := conn.ExecContext(ctx, string(stmt))
	return err
}

// CreateTwins creates the twins of moves on the ghost, in order, each in the session its trigger
// was created in; each waits at most lockWait for the ghost's metadata lock (it runs while the
// original is locked). On an error, the twins created are left for DropAll.
func CreateTwins(ctx context.Context, db *sql.DB, moves []Move, lockWait time.Duration) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer dbconn.Discard(conn) // its session is the triggers', not doppel's
	if err := setLockWait(ctx, conn, lockWait); err != nil {
		return err
	}
	for i, m := range moves {
		if err := session(ctx, conn, m.Trigger, prevOf(moves, i)); err != nil {
			return fmt.Errorf("setting the session of trigger %s up: %w", sqlbuild.QuoteIdent(m.Name), err)
		}
		if err := exec(ctx, conn, m.Twin); err != nil {
			return fmt.Errorf("creating trigger %s on the ghost table as %s: %w", sqlbuild.QuoteIdent(m.Name), sqlbuild.QuoteIdent(m.Temp), err)
		}
	}
	return nil
}

// DropAll drops every trigger on schema.table and returns their names; each DROP waits at most
// lockWait for the table's metadata lock.
func DropAll(ctx context.Context, db *sql.DB, schema, table string, lockWait time.Duration) ([]string, error) {
	names, err := OnTable(ctx, db, schema, table)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer dbconn.Discard(conn) // its lock_wait_timeout is changed
	if err := setLockWait(ctx, conn, lockWait); err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, err := conn.ExecContext(ctx, Drop(schema, n)); err != nil {
			return nil, fmt.Errorf("dropping trigger %s: %w", sqlbuild.QuoteIdent(n), err)
		}
	}
	return names, nil
}

// RestoreConfig says where the twins are and where the originals went.
type RestoreConfig struct {
	DB     *sql.DB
	Schema string
	Table  string // the new table, holding the twins
	Old    string // the old table, holding the original triggers
	Moves  []Move
	// LockTimeout bounds the wait for the lock (lock_wait_timeout).
	LockTimeout time.Duration
}

// ErrBoth means the originals were created but a twin could not be dropped, nor the originals
// again: the table fires both. It is what Restore cannot leave quietly.
var ErrBoth = errors.New("the new table has both the triggers and their temporary twins")

// Restore gives the twins on the new table their original names back, and returns how long
// writers of the table were blocked. First the old table's triggers are dropped (nothing writes to
// it); then, holding LOCK TABLES Table WRITE, the original statements are replayed in order and
// the twins dropped. On an error the twins stay, and every write still fires each trigger once,
// under its temporary name.
func Restore(ctx context.Context, cfg RestoreConfig) (time.Duration, error) {
	names, err := Names(ctx, cfg.DB, cfg.Schema)
	if err != nil {
		return 0, err
	}
	for _, m := range cfg.Moves {
		on, ok := names[strings.ToLower(m.Name)]
		switch {
		case !ok:
		case on == cfg.Old:
			if _, err := cfg.DB.ExecContext(ctx, Drop(cfg.Schema, m.Name)); err != nil {
				return 0, fmt.Errorf("dropping trigger %s from the old table: %w", sqlbuild.QuoteIdent(m.Name), err)
			}
		default:
			return 0, fmt.Errorf("trigger %s is on table %s, not the old table %s", sqlbuild.QuoteIdent(m.Name), sqlbuild.QuoteIdent(on), sqlbuild.QuoteIdent(cfg.Old))
		}
	}
	conn, err := cfg.DB.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer dbconn.Discard(conn) // its session ends holding the triggers' settings
	ctx = context.WithoutCancel(ctx)
	if err := setLockWait(ctx, conn, cfg.LockTimeout); err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, "USE "+sqlbuild.QuoteIdent(cfg.Schema)); err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, "LOCK TABLES "+sqlbuild.QualifiedName(cfg.Schema, cfg.Table)+" WRITE"); err != nil {
		return 0, fmt.Errorf("locking %s: %w", sqlbuild.QualifiedName(cfg.Schema, cfg.Table), err)
	}
	locked := time.Now()
	err = replay(ctx, conn, cfg)
	_, uerr := conn.ExecContext(ctx, "UNLOCK TABLES")
	blocked := time.Since(locked)
	return blocked, errors.Join(err, uerr)
}

// replay runs under the lock: the originals created, then the twins dropped; on an error, what was
// created is dropped again.
func replay(ctx context.Context, conn *sql.Conn, cfg RestoreConfig) error {
	created := 0
	undo := func(err error) error {
		_, _ = conn.ExecContext(ctx, "SET NAMES utf8mb4")
		for _, m := range cfg.Moves[:created] {
			if _, derr := conn.ExecContext(ctx, Drop(cfg.Schema, m.Name)); derr != nil {
				return errors.Join(err, ErrBoth, derr)
			}
		}
		return err
	}
	for i, m := range cfg.Moves {
		if err := session(ctx, conn, m.Trigger, prevOf(cfg.Moves, i)); err != nil {
			return undo(err)
		}
		if err := exec(ctx, conn, m.Statement); err != nil {
			return undo(fmt.Errorf("creating trigger %s on the new table: %w", sqlbuild.QuoteIdent(m.Name), err))
		}
		created++
	}
	// Back to doppel's character set: the names below are UTF-8.
	if _, err := conn.ExecContext(ctx, "SET NAMES utf8mb4"); err != nil {
		return undo(err)
	}
	for i, m := range cfg.Moves {
		if _, err := conn.ExecContext(ctx, Drop(cfg.Schema, m.Temp)); err != nil {
			if i == 0 {
				return undo(fmt.Errorf("dropping the temporary trigger %s: %w", sqlbuild.QuoteIdent(m.Temp), err))
			}
			return errors.Join(ErrBoth, err)
		}
	}
	return nil
}
