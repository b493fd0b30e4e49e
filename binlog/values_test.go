package binlog

import "testing"

func TestUnsigned(t *testing.T) {
	tests := []struct {
		name string
		v    any
		bits uint
		want any
	}{
		{"tinyint max, decoded signed", int8(-1), 8, uint64(255)},
		{"tinyint, decoded unsigned", uint8(255), 8, uint64(255)},
		{"smallint max, decoded signed", int16(-1), 16, uint64(65535)},
		{"mediumint max, decoded signed (sign-extended to int32)", int32(-1), 24, uint64(16777215)},
		{"mediumint, decoded unsigned", uint32(16777215), 24, uint64(16777215)},
		{"mediumint high bit", int32(-8388608), 24, uint64(8388608)},
		{"int max, decoded signed", int32(-1), 32, uint64(4294967295)},
		{"int high bit", int32(-2147483648), 32, uint64(2147483648)},
		{"bigint max, decoded signed", int64(-1), 64, uint64(18446744073709551615)},
		{"bigint, decoded unsigned", uint64(18446744073709551615), 64, uint64(18446744073709551615)},
		{"small positive", int32(42), 32, uint64(42)},
		{"zero", int64(0), 64, uint64(0)},
		{"NULL", nil, 32, nil},
		{"not an integer", "42", 32, "42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unsigned(tt.v, tt.bits); got != tt.want {
				t.Errorf("Unsigned(%#v, %d) = %#v, want %#v", tt.v, tt.bits, got, tt.want)
			}
		})
	}
}
