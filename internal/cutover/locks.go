package cutover

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/doppel-sql/doppel/dbconn"
)

// ErrGroupUnsupported means the server cannot show which metadata locks a session holds, which a
// group's swap (RunGroup) needs to release the tables one by one behind its RENAME.
var ErrGroupUnsupported = errors.New("the server does not show the metadata locks a session holds")

// lockView reads the metadata locks a session has been granted: on MariaDB from
// information_schema.METADATA_LOCK_INFO (the metadata_lock_info plugin), on MySQL from
// performance_schema.metadata_locks. Both list the locks a session holds; a RENAME takes its
// tables' locks one by one in the order of their keys (schema, then name, byte by byte), so the
// locks it holds say which table it waits for.
type lockView struct {
	query string
	// fold: lower_case_table_names is set, and the server's lock keys hold lower-case names.
	fold bool
}

// mariadbLocks and mysqlLocks list a session's granted locks as (kind, schema, name): kind
// "schema" for the lock on the schema, "table" for a table's (or a name's: a RENAME locks its
// targets' names too).
const (
	mariadbLocks = "SELECT CASE LOCK_TYPE WHEN 'Schema metadata lock' THEN 'schema' ELSE 'table' END, " +
		"COALESCE(TABLE_SCHEMA, ''), COALESCE(TABLE_NAME, '') FROM information_schema.METADATA_LOCK_INFO " +
		"WHERE THREAD_ID = ? AND LOCK_TYPE IN ('Schema metadata lock', 'Table metadata lock')"
	mysqlLocks = "SELECT LOWER(m.OBJECT_TYPE), COALESCE(m.OBJECT_SCHEMA, ''), COALESCE(m.OBJECT_NAME, '') " +
		"FROM performance_schema.metadata_locks m JOIN performance_schema.threads t ON t.THREAD_ID = m.OWNER_THREAD_ID " +
		"WHERE t.PROCESSLIST_ID = ? AND m.OBJECT_TYPE IN ('SCHEMA', 'TABLE') AND m.LOCK_STATUS = 'GRANTED'"
)

// CheckGroup returns an error wrapping ErrGroupUnsupported, saying what to do, when the server
// cannot show a session's metadata locks: several tables cannot then be swapped in one RENAME.
func CheckGroup(ctx context.Context, db *sql.DB) error {
	_, err := newLockView(ctx, db)
	return err
}

func newLockView(ctx context.Context, db *sql.DB) (lockView, error) {
	f, err := dbconn.DetectFlavor(ctx, db)
	if err != nil {
		return lockView{}, err
	}
	var fold int
	if err := db.QueryRowContext(ctx, "SELECT @@lower_case_table_names").Scan(&fold); err != nil {
		return lockView{}, fmt.Errorf("reading lower_case_table_names: %w", err)
	}
	var n int
	if f.Name() == "mariadb" {
		err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO' AND PLUGIN_STATUS = 'ACTIVE'").Scan(&n)
		if err == nil && n == 0 {
			return lockView{}, fmt.Errorf("%w: swapping several tables in one RENAME on MariaDB needs the metadata_lock_info plugin, to see which table the RENAME waits for while the tables are released one by one behind it. Install it once (INSTALL SONAME 'metadata_lock_info', which needs the INSERT privilege on mysql.plugin), or migrate the tables one at a time", ErrGroupUnsupported)
		}
		return lockView{query: mariadbLocks, fold: fold != 0}, err
	}
	err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM performance_schema.setup_instruments WHERE NAME = 'wait/lock/metadata/sql/mdl' AND ENABLED = 'YES'").Scan(&n)
	if err != nil {
		return lockView{}, fmt.Errorf("%w: reading performance_schema.setup_instruments: %w", ErrGroupUnsupported, err)
	}
	if n == 0 {
		return lockView{}, fmt.Errorf("%w: swapping several tables in one RENAME needs performance_schema's metadata lock instrument, to see which table the RENAME waits for. Enable it (UPDATE performance_schema.setup_instruments SET ENABLED = 'YES' WHERE NAME = 'wait/lock/metadata/sql/mdl'), or migrate the tables one at a time", ErrGroupUnsupported)
	}
	return lockView{query: mysqlLocks, fold: fold != 0}, nil
}

// lockKey is a name's metadata lock key: schema and name, compared byte by byte as the server
// compares its keys (a shorter prefix first).
type lockKey [2]string

func (v lockView) key(schema, name string) lockKey {
	if v.fold {
		return lockKey{strings.ToLower(schema), strings.ToLower(name)}
	}
	return lockKey{schema, name}
}

func keyLess(a, b lockKey) bool {
	if a[0] != b[0] {
		return a[0] < b[0]
	}
	return a[1] < b[1]
}

// sortKeys sorts keys in the order a RENAME takes their locks.
func sortKeys(keys []lockKey) {
	sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
}

// held returns the locks session id holds: whether it holds the schema's, and the table keys.
func (v lockView) held(ctx context.Context, db *sql.DB, id int64, schema string) (bool, map[lockKey]bool, error) {
	rows, err := db.QueryContext(ctx, v.query, id)
	if err != nil {
		return false, nil, fmt.Errorf("reading the RENAME's metadata locks: %w", err)
	}
	defer rows.Close()
	onSchema, tables := false, map[lockKey]bool{}
	for rows.Next() {
		var kind, s, n string
		if err := rows.Scan(&kind, &s, &n); err != nil {
			return false, nil, err
		}
		k := v.key(s, n)
		if kind == "schema" {
			onSchema = onSchema || k[0] == v.key(schema, "")[0]
			continue
		}
		tables[k] = true
	}
	return onSchema, tables, rows.Err()
}

// waitsFor returns the key the RENAME must take next, given the keys it holds: the first of keys
// (sorted) it does not hold, with ok false unless it holds the schema's lock and exactly the keys
// before that one (a RENAME holds a prefix of its keys; anything else is a reading taken mid-way,
// to be taken again).
func waitsFor(keys []lockKey, onSchema bool, held map[lockKey]bool) (lockKey, bool) {
	if !onSchema {
		return lockKey{}, false
	}
	for i, k := range keys {
		if held[k] {
			continue
		}
		for _, later := range keys[i+1:] {
			if held[later] {
				return lockKey{}, false
			}
		}
		return k, true
	}
	return lockKey{}, false
}
