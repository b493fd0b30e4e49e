package migration

import (
	"database/sql"
	"strings"
	"testing"
)

func dumpBinlog(t *testing.T, db *sql.DB) {
	var file string
	var pos int64
	var a, b, c sql.NullString
	_ = db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &a, &b)
	_ = c
	rows, err := db.Query("SHOW BINLOG EVENTS IN '" + file + "'")
	if err != nil {
		t.Log(err)
		return
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var f, typ, info string
		var p, sid, end int64
		_ = rows.Scan(&f, &p, &typ, &sid, &end, &info)
		out = append(out, typ+" "+info)
	}
	for i, l := range out {
		if strings.Contains(l, "RENAME TABLE") {
			lo := max(0, i-80)
			t.Log(strings.Join(out[lo:min(len(out), i+3)], "\n"))
		}
	}
}
