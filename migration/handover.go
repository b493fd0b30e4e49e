package migration

import (
	"context"
	"errors"

	"go.uber.org/zap"
)

// A handover gives the ghost what it must have only from the swap on, under the cut-over's lock
// (cutover.Config.Prepare and Undo): the original's triggers, which a replayed change must not
// fire before, and the foreign keys of the tables that reference the original.
type handover struct {
	name string
	// prepare runs under the lock, after the last checks, before the RENAME.
	prepare func(ctx context.Context) error
	// undo reverses prepare when the attempt fails, also after a prepare that failed half way: it
	// must be safe to run on what prepare left, whatever that is.
	undo func(ctx context.Context) error
	// swapped, when set, runs once the tables are swapped (names restored, leftovers dropped). The
	// swap is done by then: its error is reported, it does not fail the migration.
	swapped func(ctx context.Context) error
}

// handovers are this run's, in the order they are prepared; they are undone in reverse.
func (r *run) handovers() []handover {
	var hs []handover
	hs = append(hs, r.triggerHandovers()...)
	hs = append(hs, r.foreignKeyHandovers()...)
	hs = append(hs, r.partitionHandovers()...)
	return hs
}

// prepareHandovers is the cut-over's Prepare; r.prepared counts the handovers begun, for
// undoHandovers.
func (r *run) prepareHandovers(ctx context.Context) error {
	r.prepared = 0
	for _, h := range r.handovers() {
		r.prepared++
		if err := h.prepare(ctx); err != nil {
			return err
		}
	}
	return nil
}

// undoHandovers is the cut-over's Undo: the handovers begun, in reverse.
func (r *run) undoHandovers(ctx context.Context) error {
	hs := r.handovers()
	var errs []error
	for i := r.prepared - 1; i >= 0; i-- {
		errs = append(errs, hs[i].undo(ctx))
	}
	r.prepared = 0
	return errors.Join(errs...)
}

// afterSwap runs the handovers' steps that follow the swap.
func (r *run) afterSwap(ctx context.Context) {
	for _, h := range r.handovers() {
		if h.swapped == nil {
			continue
		}
		if err := h.swapped(ctx); err != nil {
			r.log().Warn("after the swap", zap.String("handover", h.name), zap.Error(err))
		}
	}
}
