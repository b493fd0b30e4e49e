package checkpoint

import (
	"reflect"
	"testing"
)

func TestKeyRoundTrip(t *testing.T) {
	for _, key := range [][]any{
		nil,
		{int64(-5)},
		{uint64(18446744073709551615)},
		{[]byte("bin\x00ary\xff"), int64(7)},
		{"2024-02-29 10:11:12.123456", 1.5, nil},
	} {
		enc, err := EncodeKey(key)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := DecodeKey(enc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(dec, key) {
			t.Errorf("%#v came back as %#v", key, dec)
		}
	}
	if _, err := EncodeKey([]any{struct{}{}}); err == nil {
		t.Error("an unknown type is refused")
	}
	if _, err := DecodeKey([]Value{{Type: "x"}}); err == nil {
		t.Error("an unknown tag is refused")
	}
}
