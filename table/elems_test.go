package table

import (
	"reflect"
	"testing"
)

func TestParseElems(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"enum('a','b')", []string{"a", "b"}},
		{"enum('it''s','x,y')", []string{"it's", "x,y"}},
		{"set('read','write','admin')", []string{"read", "write", "admin"}},
		{"enum('ü','😀')", []string{"ü", "😀"}},
		{`enum('back\\slash')`, []string{`back\slash`}},
	} {
		got, err := parseElems(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.in, got, tc.want)
		}
	}
}
