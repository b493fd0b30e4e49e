package copier

import (
	"reflect"
	"testing"
)

func TestWatermark(t *testing.T) {
	w := newWatermark()
	for i := int64(0); i < 4; i++ {
		w.started(i, []any{i * 10})
	}
	steps := []struct {
		finish int64
		want   []any
	}{
		{2, nil}, // 0 and 1 still running
		{0, []any{int64(0)}},
		{3, nil},
		{1, []any{int64(30)}}, // 1, 2 and 3 are done: jump to the end
	}
	for _, s := range steps {
		if got := w.finished(s.finish); !reflect.DeepEqual(got, s.want) {
			t.Fatalf("after chunk %d finished: watermark %v, want %v", s.finish, got, s.want)
		}
	}
}
