package copier

import "sync"

// watermark tracks chunks that finish out of order and yields the upper key of the longest prefix of
// chunks that are all done: every row below it is copied, whatever is still in flight.
type watermark struct {
	mu     sync.Mutex
	next   int64 // the lowest chunk not yet known done
	uppers map[int64][]any
	done   map[int64]bool
}

func newWatermark() *watermark {
	return &watermark{uppers: map[int64][]any{}, done: map[int64]bool{}}
}

func (w *watermark) started(seq int64, upper []any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.uppers[seq] = upper
}

// finished marks seq done and returns the new watermark when it moved, else nil.
func (w *watermark) finished(seq int64) []any {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done[seq] = true
	var wm []any
	for w.done[w.next] {
		wm = w.uppers[w.next]
		delete(w.done, w.next)
		delete(w.uppers, w.next)
		w.next++
	}
	return wm
}
