package table

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// The changes a unique key survives because package fit refuses the values that would not fit, and
// the keys an added AUTO_INCREMENT column makes unique.
func TestUniqueChangesAllowedWhenSafe(t *testing.T) {
	for _, tc := range []struct {
		name        string
		orig, ghost []string
		origIdx     []Index
		ghostIdx    []Index
		autoInc     string // a ghost column that is AUTO_INCREMENT
		want        []string
	}{
		{name: "int to bigint unsigned", orig: []string{"id int"}, ghost: []string{"id bigint unsigned"},
			origIdx: []Index{uk("PRIMARY", "id")}, ghostIdx: []Index{uk("PRIMARY", "id")}},
		{name: "bigint to int narrowing", orig: []string{"id int", "n bigint"}, ghost: []string{"id int", "n int"},
			origIdx: []Index{uk("PRIMARY", "id"), uk("u", "n")}, ghostIdx: []Index{uk("PRIMARY", "id"), uk("u", "n")}},
		{name: "utf8mb3 to utf8mb4, same rules", orig: []string{"id int", "e varchar coll=utf8mb3_general_ci"}, ghost: []string{"id int", "e varchar coll=utf8mb4_general_ci"},
			origIdx: []Index{uk("PRIMARY", "e")}, ghostIdx: []Index{uk("PRIMARY", "e")}},
		{name: "utf8 to utf8mb4 (MySQL 5.7 names)", orig: []string{"id int", "e varchar coll=utf8_bin"}, ghost: []string{"id int", "e varchar coll=utf8mb4_bin"},
			origIdx: []Index{uk("PRIMARY", "e")}, ghostIdx: []Index{uk("PRIMARY", "e")}},
		{name: "utf8mb3 to utf8mb4, other rules", orig: []string{"id int", "e varchar coll=utf8mb3_general_ci"}, ghost: []string{"id int", "e varchar coll=utf8mb4_0900_ai_ci"},
			origIdx: []Index{uk("PRIMARY", "e")}, ghostIdx: []Index{uk("PRIMARY", "e")}, want: []string{"PRIMARY"}},
		{name: "utf8mb4 to utf8mb3", orig: []string{"id int", "e varchar coll=utf8mb4_general_ci"}, ghost: []string{"id int", "e varchar coll=utf8mb3_general_ci"},
			origIdx: []Index{uk("PRIMARY", "e")}, ghostIdx: []Index{uk("PRIMARY", "e")}, want: []string{"PRIMARY"}},
		{name: "added AUTO_INCREMENT UNIQUE", orig: []string{"id int"}, ghost: []string{"id int", "n int"}, autoInc: "n",
			origIdx: []Index{uk("PRIMARY", "id")}, ghostIdx: []Index{uk("PRIMARY", "id"), uk("n", "n")}},
		{name: "added AUTO_INCREMENT PRIMARY KEY", orig: []string{"id int", "code int"}, ghost: []string{"id int", "code int", "n bigint"}, autoInc: "n",
			origIdx: []Index{uk("u", "code")}, ghostIdx: []Index{uk("PRIMARY", "n"), uk("u", "code")}},
		{name: "added AUTO_INCREMENT in a composite key", orig: []string{"id int", "a int"}, ghost: []string{"id int", "a int", "n int"}, autoInc: "n",
			origIdx: []Index{uk("PRIMARY", "id")}, ghostIdx: []Index{uk("PRIMARY", "id"), uk("u", "a", "n")}},
		{name: "a copied AUTO_INCREMENT column keeps its values", orig: []string{"id int", "a int"}, ghost: []string{"id int", "a int"}, autoInc: "a",
			origIdx: []Index{uk("PRIMARY", "id")}, ghostIdx: []Index{uk("PRIMARY", "id"), uk("u", "a")}, want: []string{"u"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig, ghost := tbl("t", tc.orig, tc.origIdx...), tbl("g", tc.ghost, tc.ghostIdx...)
			if tc.autoInc != "" {
				ghost.Column(tc.autoInc).AutoInc = true
			}
			m := MapColumns(orig, ghost, nil)
			var got []string
			for _, c := range UniqueChanges(orig, ghost, m) {
				got = append(got, c.Ghost.Name)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("flagged %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDuplicatesQueryIntegerChange(t *testing.T) {
	orig := tbl("t", []string{"id int", "n bigint null"})
	ghost := tbl("g", []string{"id int", "n int unsigned null"})
	q, err := DuplicatesQuery(orig, &Index{Name: "u", Unique: true, Columns: []IndexColumn{{Name: "n"}}}, MapColumns(orig, ghost, nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := "SELECT 1 FROM `db`.`t` WHERE `n` IS NOT NULL GROUP BY `n` HAVING COUNT(*) > 1 LIMIT 1"; q != want {
		t.Errorf("got  %s\nwant %s", q, want)
	}
}

func TestSameCollation(t *testing.T) {
	for _, tc := range []struct {
		o, g string
		want bool
	}{
		{"utf8mb4_bin", "utf8mb4_bin", true},
		{"utf8mb3_general_ci", "utf8mb4_general_ci", true},
		{"UTF8_UNICODE_CI", "utf8mb4_unicode_ci", true},
		{"utf8mb3_nopad_bin", "utf8mb4_nopad_bin", true},
		{"utf8mb3_general_ci", "utf8mb4_bin", false},
		{"utf8mb4_general_ci", "utf8mb3_general_ci", false},
		{"latin1_swedish_ci", "utf8mb4_swedish_ci", false},
		{"utf8mb3_general_ci", "utf8mb4_0900_ai_ci", false},
	} {
		if got := SameCollation(tc.o, tc.g); got != tc.want {
			t.Errorf("SameCollation(%s, %s) = %v, want %v", tc.o, tc.g, got, tc.want)
		}
	}
}

// TestSameCollationOnTheServer checks SameCollation's claim against the server, for every utf8mb3
// collation with a utf8mb4 namesake: every character of utf8mb3 gets the same rank among the others
// (the same order, the same ties) under both. The characters are the whole Basic Multilingual Plane
// below U+3000, where the scripts with special rules are, and every 16th one above.
func TestSameCollationOnTheServer(t *testing.T) {
	ctx := context.Background()
	_, db := sb.NewDB(t)
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE TEMPORARY TABLE bmp AS SELECT seq,
		CONVERT(CHAR(seq USING utf32) USING utf8mb3) AS c3, CONVERT(CHAR(seq USING utf32) USING utf8mb4) AS c4
		FROM seq_1_to_65533 WHERE (seq < 12288 OR seq % 16 = 0) AND (seq < 55296 OR seq > 57343)`); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.QueryContext(ctx, `SELECT a.COLLATION_NAME, b.COLLATION_NAME FROM information_schema.COLLATIONS a
		JOIN information_schema.COLLATIONS b ON b.COLLATION_NAME = CONCAT('utf8mb4_', SUBSTRING(a.COLLATION_NAME, 9))
		WHERE a.CHARACTER_SET_NAME = 'utf8mb3' ORDER BY a.COLLATION_NAME`)
	if err != nil {
		t.Fatal(err)
	}
	var pairs [][2]string
	for rows.Next() {
		var p [2]string
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close() //nolint:sqlclosecheck // closed before the next query on this single connection
	if len(pairs) < 10 {
		t.Fatalf("only %d collation pairs found: %v", len(pairs), pairs)
	}
	for _, p := range pairs {
		if !SameCollation(p[0], p[1]) {
			t.Errorf("SameCollation(%s, %s) is false", p[0], p[1])
			continue
		}
		var differ int
		q := fmt.Sprintf(`SELECT COUNT(*) FROM (SELECT DENSE_RANK() OVER (ORDER BY c3 COLLATE %s) r3,
			DENSE_RANK() OVER (ORDER BY c4 COLLATE %s) r4 FROM bmp) z WHERE r3 <> r4`, p[0], p[1])
		if err := conn.QueryRowContext(ctx, q).Scan(&differ); err != nil {
			t.Fatal(err)
		}
		if differ > 0 {
			t.Errorf("%s and %s rank %d characters differently", p[0], p[1], differ)
		}
	}
	t.Logf("%d collation pairs: %s", len(pairs), strings.TrimSpace(fmt.Sprint(pairs)))
}
