package alter

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/doppel-sql/doppel/dbconn"
)

// Server is what Parse needs to know of the server that runs the ALTER: which executable comments it
// runs, and the character sets and collations it has, which the parser must know to read the clause.
type Server struct {
	MariaDB bool
	// Version is the server's version the way executable comments write it: 80036 for 8.0.36,
	// 101106 for 10.11.6.
	Version int
	// TableNamesCaseSensitive is true when the server tells tables apart by case
	// (lower_case_table_names=0, the default on Linux): then t and T are two tables.
	TableNamesCaseSensitive bool
	Charsets                []Charset
	Collations              []Collation
}

// Charset is a character set as information_schema.CHARACTER_SETS describes it.
type Charset struct {
	Name             string
	DefaultCollation string
	MaxLen           int
}

// Collation is a collation name the server accepts, and its character set (empty for MariaDB's
// names that fit several, such as uca1400_ai_ci).
type Collation struct {
	Name    string
	Charset string
	ID      int
}

// VersionID returns v the way executable comments write it.
func VersionID(v dbconn.Version) int { return v.Major*10000 + v.Minor*100 + v.Patch }

// ReadServer reads what Parse needs from the server db points at.
func ReadServer(ctx context.Context, db *sql.DB) (*Server, error) {
	f, err := dbconn.DetectFlavor(ctx, db)
	if err != nil {
		return nil, err
	}
	srv := &Server{MariaDB: f.Name() == "mariadb", Version: VersionID(f.Version())}
	var lowerCase int
	if err := db.QueryRowContext(ctx, "SELECT @@lower_case_table_names").Scan(&lowerCase); err != nil {
		return nil, fmt.Errorf("reading lower_case_table_names: %w", err)
	}
	srv.TableNamesCaseSensitive = lowerCase == 0
	if err := srv.readCharsets(ctx, db); err != nil {
		return nil, fmt.Errorf("reading the server's character sets: %w", err)
	}
	// MariaDB 10.10 and later name a collation either for itself (uca1400_ai_ci, no character set
	// there) or with its character set (utf8mb4_uca1400_ai_ci, only in the applicability table).
	queries := []string{"SELECT COLLATION_NAME, COALESCE(CHARACTER_SET_NAME, ''), COALESCE(ID, 0) FROM information_schema.COLLATIONS"}
	if srv.MariaDB && srv.Version >= 101000 {
		queries = append(queries, "SELECT FULL_COLLATION_NAME, CHARACTER_SET_NAME, ID FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY")
	}
	for _, q := range queries {
		if err := srv.readCollations(ctx, db, q); err != nil {
			return nil, err
		}
	}
	return srv, nil
}

func (srv *Server) readCharsets(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "SELECT CHARACTER_SET_NAME, DEFAULT_COLLATE_NAME, MAXLEN FROM information_schema.CHARACTER_SETS")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c Charset
		if err := rows.Scan(&c.Name, &c.DefaultCollation, &c.MaxLen); err != nil {
			return err
		}
		srv.Charsets = append(srv.Charsets, c)
	}
	return rows.Err()
}

func (srv *Server) readCollations(ctx context.Context, db *sql.DB, query string) error {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("reading the server's collations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Collation
		if err := rows.Scan(&c.Name, &c.Charset, &c.ID); err != nil {
			return fmt.Errorf("reading the server's collations: %w", err)
		}
		srv.Collations = append(srv.Collations, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading the server's collations: %w", err)
	}
	return nil
}
