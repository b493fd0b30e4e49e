package migration

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestControlHandlers: the run binds every control command, so Listen accepts its handlers; the
// settings it keeps itself check their range and log their changes.
func TestControlHandlers(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	r := newRun(&Config{ChunkSize: 1000, DMLBatchSize: 10, PostponeCutOverFlagFile: "/tmp/p", Logger: zap.New(core)}, nil)
	h := r.controlHandlers()
	if err := h.Check(); err != nil {
		t.Fatal(err)
	}
	if err := h.ChunkSize.Set(MinChunkSize - 1); err == nil {
		t.Errorf("chunk-size %d accepted", MinChunkSize-1)
	}
	if err := h.DMLBatchSize.Set(0); err == nil {
		t.Error("dml-batch-size 0 accepted")
	}
	if err := h.ChunkSize.Set(500); err != nil || h.ChunkSize.Get() != 500 || r.chunk.Load() != 500 {
		t.Errorf("chunk-size 500: %v, now %d", err, r.chunk.Load())
	}
	if got := logs.FilterMessage("setting changed from the control socket").FilterField(zap.String("setting", "chunk-size")).Len(); got != 1 || logs.Len() != 1 {
		t.Errorf("%d changes of chunk-size logged, %d lines in all", got, logs.Len())
	}
	if _, err := h.Unpostpone(); err != nil || !r.unpostponed.Load() {
		t.Fatalf("unpostpone: %v", err)
	}
	if err := h.PostponeCutOverFlagFile.Set("/tmp/q"); err != nil || h.PostponeCutOverFlagFile.Get() != "/tmp/q" || r.unpostponed.Load() {
		t.Errorf("a new postpone flag file does not postpone again: %v", err)
	}
}
