package plan

import (
	"reflect"
	"testing"
)

func TestDuplicateQuery(t *testing.T) {
	uc := &uniqueCheck{parts: []keyPart{
		{column: "email", prefix: 10, charset: "utf8mb4", collation: "utf8mb4_bin"},
		{column: "tenant id"},
	}}
	q, err := duplicateQuery("shop", "users", uc)
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT 1 FROM `shop`.`users` WHERE `email` IS NOT NULL AND `tenant id` IS NOT NULL " +
		"GROUP BY CONVERT(LEFT(`email`, 10) USING utf8mb4) COLLATE utf8mb4_bin, `tenant id` HAVING COUNT(*) > 1 LIMIT 1"
	if q != want {
		t.Fatalf("got  %s\nwant %s", q, want)
	}
	uc.parts[0].collation = "x'; DROP TABLE t; --"
	if _, err := duplicateQuery("shop", "users", uc); err == nil {
		t.Fatal("a collation that is not a plain name must be refused")
	}
}

func TestAfterKey(t *testing.T) {
	where, args := afterKey([]string{"a", "b", "c"}, []any{1, 2, 3})
	want := "(`a` > ?) OR (`a` = ? AND `b` > ?) OR (`a` = ? AND `b` = ? AND `c` > ?)"
	if where != want || !reflect.DeepEqual(args, []any{1, 1, 2, 1, 2, 3}) {
		t.Fatalf("got %s %v", where, args)
	}
}

func TestOnPath(t *testing.T) {
	for _, tc := range []struct {
		dir, mount string
		want       bool
	}{
		{"/var/lib/mysql/", "/", true},
		{"/var/lib/mysql/", "/var/lib", true},
		{"/var/lib/mysql/", "/var/li", false},
		{"/data/mysql/", "/var", false},
	} {
		if got := onPath(tc.dir, tc.mount); got != tc.want {
			t.Errorf("onPath(%q, %q) = %v", tc.dir, tc.mount, got)
		}
	}
}

func TestCharsetHolds(t *testing.T) {
	for _, tc := range []struct {
		to, from string
		want     bool
	}{
		{"utf8mb4", "utf8", true},
		{"utf8mb4", "latin1", true},
		{"utf8mb3", "utf8mb4", false},
		{"utf8mb3", "latin1", true},
		{"latin1", "utf8mb4", false},
		{"latin1", "ascii", true},
		{"utf8mb4", "binary", false},
	} {
		if got := charsetHolds(tc.to, tc.from); got != tc.want {
			t.Errorf("charsetHolds(%s, %s) = %v", tc.to, tc.from, got)
		}
	}
}
