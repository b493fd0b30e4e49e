package workflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
)

// DefaultHistoryTable is the history table's name unless Config.HistoryTable says otherwise.
const DefaultHistoryTable = "doppel_schema_history"

// historyDDL creates the history table. One row per run of a script: an up, or a down. Rows are never
// deleted but by repair; a migration is applied when its newest row is a successful up. A row that
// did not succeed says which statement the run stopped at (1-based), so the next run continues there.
const historyDDL = `CREATE TABLE IF NOT EXISTS %s (
  installed_rank INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  version VARCHAR(50) NOT NULL,
  description VARCHAR(200) NOT NULL,
  direction ENUM('up','down') NOT NULL,
  script VARCHAR(255) NOT NULL,
  checksum CHAR(64) NOT NULL,
  applied_at DATETIME(6) NOT NULL,
  applied_by VARCHAR(300) NOT NULL,
  duration_ms BIGINT NOT NULL,
  statements JSON NOT NULL,
  success TINYINT(1) NOT NULL,
  stopped_at INT NULL,
  error TEXT NULL,
  KEY version (version, installed_rank)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`

// Ran is how one statement ran, as the history row records it.
type Ran struct {
	Statement int    `json:"statement"`
	Line      int    `json:"line"`
	How       How    `json:"how"`
	MS        int64  `json:"ms"`
	Note      string `json:"note,omitempty"`
}

// Row is one row of the history table.
type Row struct {
	Rank        int64
	Version     string
	Description string
	Direction   string
	Script      string
	Checksum    string
	AppliedAt   time.Time
	AppliedBy   string
	Duration    time.Duration
	Statements  []Ran
	Success     bool
	StoppedAt   int // the 1-based statement a failed run stopped at; 0 when it succeeded
	Error       string
}

// history is the history table of one schema.
type history struct {
	db   *sql.DB
	name string // qualified
}

func (h *history) create(ctx context.Context) error {
	if _, err := h.db.ExecContext(ctx, fmt.Sprintf(historyDDL, h.name)); err != nil {
		return fmt.Errorf("creating the history table %s: %w", h.name, err)
	}
	return nil
}

// read returns every row in the order they were written; none when the table does not exist yet.
func (h *history) read(ctx context.Context) ([]Row, error) {
	rows, err := h.db.QueryContext(ctx, "SELECT installed_rank, version, description, direction, script, checksum, applied_at, applied_by, duration_ms, statements, success, COALESCE(stopped_at, 0), COALESCE(error, '') FROM "+h.name+" ORDER BY installed_rank")
	if dbconn.ErrorNumber(err) == dbconn.ErrNoSuchTable {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the history table %s: %w", h.name, err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var at, stmts string
		var ms int64
		if err := rows.Scan(&r.Rank, &r.Version, &r.Description, &r.Direction, &r.Script, &r.Checksum, &at, &r.AppliedBy, &ms, &stmts, &r.Success, &r.StoppedAt, &r.Error); err != nil {
			return nil, fmt.Errorf("reading the history table %s: %w", h.name, err)
		}
		if r.AppliedAt, err = time.Parse("2006-01-02 15:04:05.999999", at); err != nil {
			return nil, fmt.Errorf("reading the history table %s: applied_at %q: %w", h.name, at, err)
		}
		if err := json.Unmarshal([]byte(stmts), &r.Statements); err != nil {
			return nil, fmt.Errorf("reading the history table %s: statements of version %s: %w", h.name, r.Version, err)
		}
		r.Duration = time.Duration(ms) * time.Millisecond
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the history table %s: %w", h.name, err)
	}
	return out, nil
}

// start records that a run of a script begins: a failed row stopped at its first statement, which
// finish turns into what happened. A process killed meanwhile leaves that row, which is what it says.
func (h *history) start(ctx context.Context, m *Migration, dir string, f *File, by string, stopped int) (int64, error) {
	res, err := h.db.ExecContext(ctx, "INSERT INTO "+h.name+` (version, description, direction, script, checksum, applied_at, applied_by, duration_ms, statements, success, stopped_at)
		VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6), ?, 0, '[]', 0, ?)`, m.Version.String(), truncate(m.Description, 200), dir, f.Name, f.Checksum, truncate(by, 300), stopped)
	if err != nil {
		return 0, fmt.Errorf("recording the run of %s in %s: %w", f.Name, h.name, err)
	}
	return res.LastInsertId()
}

// progress records where a run is: the statements that ran, the one it is at (0: done), the error.
func (h *history) progress(ctx context.Context, rank int64, ran []Ran, took time.Duration, stopped int, runErr error) error {
	b, err := json.Marshal(ran)
	if err != nil {
		return err
	}
	var msg any
	if runErr != nil {
		msg = truncate(runErr.Error(), 60000)
	}
	var at any
	if stopped > 0 {
		at = stopped
	}
	// A cancelled run still records where it stopped.
	_, err = h.db.ExecContext(context.WithoutCancel(ctx), "UPDATE "+h.name+` SET statements = ?, duration_ms = ?, success = ?, stopped_at = ?, error = ? WHERE installed_rank = ?`,
		string(b), took.Milliseconds(), stopped == 0 && runErr == nil, at, msg, rank)
	if err != nil {
		return fmt.Errorf("recording the progress of the run in %s: %w", h.name, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// lock is the deployers' lock: GET_LOCK on a name of the schema, held by one connection for the whole
// run. Another deployer waits up to wait, saying so, then gives up.
type lock struct {
	conn *sql.Conn
	name string
}

// lockName is the lock of a schema; servers accept names of at most 64 characters.
func lockName(database string) string {
	n := "doppel.migrate." + database
	if len(n) > 64 {
		n = "doppel.migrate." + Checksum([]byte(database))[:32]
	}
	return n
}

func takeLock(ctx context.Context, db *sql.DB, database string, wait time.Duration, say func(string)) (*lock, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting to take the migrations lock: %w", err)
	}
	l := &lock{conn: conn, name: lockName(database)}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", l.name).Scan(&got); err != nil {
		conn.Close()
		return nil, fmt.Errorf("taking the migrations lock %q: %w", l.name, err)
	}
	if got.Int64 != 1 {
		var holder sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?)", l.name).Scan(&holder); err != nil {
			conn.Close()
			return nil, fmt.Errorf("asking who holds the migrations lock %q: %w", l.name, err)
		}
		say(fmt.Sprintf("another deployer (connection %d) is migrating %s; waiting up to %s for it (--deploy-lock-wait)", holder.Int64, sqlbuild.QuoteIdent(database), wait))
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", l.name, max(1, int(wait/time.Second))).Scan(&got); err != nil {
			conn.Close()
			return nil, fmt.Errorf("waiting for the migrations lock %q: %w", l.name, err)
		}
		if got.Int64 != 1 {
			conn.Close()
			return nil, fmt.Errorf("another deployer (connection %d) still migrates %s after %s: run again when it is done, or raise --deploy-lock-wait", holder.Int64, sqlbuild.QuoteIdent(database), wait)
		}
	}
	return l, nil
}

func (l *lock) release() error {
	defer l.conn.Close()
	_, err := l.conn.ExecContext(context.Background(), "DO RELEASE_LOCK(?)", l.name)
	if err != nil && !errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("releasing the migrations lock %q: %w", l.name, err)
	}
	return nil
}

// qualified names the history table: "table" in database, or "db.table" as given.
func historyName(database, table string) string {
	if db, t, ok := strings.Cut(table, "."); ok {
		return sqlbuild.QualifiedName(db, t)
	}
	return sqlbuild.QualifiedName(database, table)
}
