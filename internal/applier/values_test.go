package applier

import (
	"reflect"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/doppel-sql/doppel/table"
)

func TestFromBinlog(t *testing.T) {
	enum := &table.Column{Name: "e", DataType: "enum", Elems: []string{"a", "b", "c"}}
	set := &table.Column{Name: "s", DataType: "set", Elems: []string{"r", "w", "x"}}
	for _, tc := range []struct {
		name string
		col  *table.Column
		in   any
		want any
	}{
		{"null", &table.Column{DataType: "int"}, nil, nil},
		{"signed int", &table.Column{DataType: "int"}, int32(-5), int64(-5)},
		{"unsigned int decoded signed", &table.Column{DataType: "int", Unsigned: true}, int32(-1), uint64(4294967295)},
		{"unsigned tinyint", &table.Column{DataType: "tinyint", Unsigned: true}, int8(-56), uint64(200)},
		{"unsigned mediumint", &table.Column{DataType: "mediumint", Unsigned: true}, int32(-1), uint64(16777215)},
		{"unsigned bigint", &table.Column{DataType: "bigint", Unsigned: true}, int64(-1), uint64(18446744073709551615)},
		{"unsigned decoded unsigned", &table.Column{DataType: "bigint", Unsigned: true}, uint64(18446744073709551615), uint64(18446744073709551615)},
		{"enum by number", enum, int64(2), uint64(2)},
		{"enum empty member", enum, int64(0), uint64(0)},
		{"set by mask", set, int64(5), uint64(5)},
		{"set empty", set, int64(0), uint64(0)},
		{"bit", &table.Column{DataType: "bit"}, int64(5), uint64(5)},
		{"bit64 top bit", &table.Column{DataType: "bit"}, int64(-1), uint64(18446744073709551615)},
		{"decimal", &table.Column{DataType: "decimal"}, decimal.RequireFromString("-12.3400"), "-12.34"},
		{"text stays bytes", &table.Column{DataType: "varchar", Charset: "latin1"}, "caf\xe9", []byte("caf\xe9")},
		{"blob", &table.Column{DataType: "blob"}, []byte{0, 1, 2}, []byte{0, 1, 2}},
		{"binary padded", &table.Column{DataType: "binary", OctetLen: 4}, "ab", []byte("ab\x00\x00")},
		{"float", &table.Column{DataType: "float"}, float32(0.5), float64(0.5)},
		{"datetime", &table.Column{DataType: "datetime"}, "2024-02-29 10:11:12.123456", "2024-02-29 10:11:12.123456"},
		{"year", &table.Column{DataType: "year"}, 2024, 2024},
		{"json", &table.Column{DataType: "json"}, `{"a": 1}`, []byte(`{"a": 1}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fromBinlog(tc.col, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v (%T), want %#v (%T)", got, got, tc.want, tc.want)
			}
		})
	}
	if _, err := fromBinlog(enum, int64(9)); err == nil {
		t.Error("enum member out of range: no error")
	}
}

func TestBatchCollapses(t *testing.T) {
	b := newBatch()
	k := func(v int) []any { return []any{int64(v)} }
	b.set(k(1), []any{"v1"})
	b.set(k(2), []any{"v2"})
	b.set(k(1), []any{"v1b"}) // later image wins
	b.set(k(2), nil)          // delete wins when last
	b.set(k(3), nil)
	b.set(k(3), []any{"v3"}) // re-inserted after delete
	got := map[int64]any{}
	for _, key := range b.order {
		o := b.ops[key]
		got[o.key[0].(int64)] = o.row
	}
	want := map[int64]any{1: []any{"v1b"}, 2: []any(nil), 3: []any{"v3"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if len(b.order) != 3 {
		t.Errorf("%d keys, want 3", len(b.order))
	}
}

func TestWriteInParts(t *testing.T) {
	rows := make([][]any, 25000)
	for i := range rows {
		rows[i] = []any{int64(i), int64(i)}
	}
	var parts []int
	if err := writeInParts(rows, 7, func(p [][]any) error { parts = append(parts, len(p)); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []int{8571, 8571, 7858}; !reflect.DeepEqual(parts, want) {
		t.Errorf("parts %v, want %v", parts, want)
	}
	big := [][]any{{make([]byte, 3<<20)}, {make([]byte, 3<<20)}}
	parts = nil
	_ = writeInParts(big, 1, func(p [][]any) error { parts = append(parts, len(p)); return nil })
	if want := []int{1, 1}; !reflect.DeepEqual(parts, want) {
		t.Errorf("big rows: parts %v, want %v", parts, want)
	}
}
