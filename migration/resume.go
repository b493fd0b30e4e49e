package migration

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/doppel-sql/doppel/dbconn"
	"github.com/doppel-sql/doppel/internal/binlog"
	"github.com/doppel-sql/doppel/internal/changelog"
	"github.com/doppel-sql/doppel/internal/checkpoint"
	"github.com/doppel-sql/doppel/internal/sqlbuild"
	"github.com/doppel-sql/doppel/table"
)

// errTableChanged marks failures after which the ghost table is useless: the original's definition
// changed under the migration, so a resume cannot continue it.
var errTableChanged = errors.New("the original table's definition changed")

// store is the run's checkpoint store, in its changelog table on the primary.
func (r *run) store() *checkpoint.Store {
	return checkpoint.NewStore(r.s.primary, r.changelog)
}

// checkResume reads the checkpoint a --resume continues from, and refuses when the run cannot be
// continued: another ALTER, a changed table, another server, or binary logs already purged.
func (r *run) checkResume(ctx context.Context) error {
	rec, err := r.store().Load(ctx)
	if errors.Is(err, checkpoint.ErrNone) {
		return refuse("nothing to resume: %s holds no checkpoint. Drop %s and %s and run without --resume",
			r.p.changelog, r.p.names.ghost, r.p.changelog)
	}
	if err != nil {
		return err
	}
	startOver := fmt.Sprintf("to start over, drop %s and %s (or add --initially-drop-ghost-table) and run without --resume",
		sqlbuild.QualifiedName(r.cfg.Database, r.p.names.ghost), sqlbuild.QualifiedName(r.cfg.Database, r.p.changelog))
	why, err := r.changelog.Read(ctx, r.s.primary, changelog.HintNotResumable)
	switch {
	case err == nil:
		return refuse("--resume: the stopped run cannot be continued: %s; %s", why, startOver)
	case !errors.Is(err, changelog.ErrNoRow):
		return err
	}
	if normalize(rec.Alter) != normalize(r.p.alter.Clause) {
		return refuse("--resume: the stopped run was for --alter %q, not %q: resume with the same ALTER, or %s", rec.Alter, r.p.alter.Clause, startOver)
	}
	if rec.Table != r.p.orig.Digest() {
		return refuse("--resume: %s has changed since the stopped run (its columns or keys differ), so its ghost table cannot be continued; %s",
			r.cfg.Table, startOver)
	}
	if err := r.checkResumePosition(ctx, rec, startOver); err != nil {
		return err
	}
	if r.from, err = resumeAt(rec, r.cfg.GTID); err != nil {
		return err
	}
	r.log().Info("resuming", zap.String("binlog", fmt.Sprintf("%s:%d", rec.BinlogFile, rec.BinlogPos)),
		zap.Bool("copy_done", rec.CopyDone), zap.Time("checkpoint_written", rec.Written))
	return nil
}

// checkResumePosition refuses a checkpoint whose binlog position this server cannot continue from.
// By file and offset, only the very server that was read can, and only while it keeps the file;
// with --gtid, any server of the topology that still has the transactions after the checkpoint's
// GTID set.
func (r *run) checkResumePosition(ctx context.Context, rec checkpoint.Record, startOver string) error {
	if r.cfg.GTID {
		if rec.GTIDSet == "" {
			return refuse("--resume --gtid: the stopped run recorded no GTID set (it ran without --gtid): resume it without --gtid on the server it read, or %s", startOver)
		}
		if r.s.flavor.Name() == "mysql" {
			var purgedOK bool
			if err := r.s.inspect.QueryRowContext(ctx, "SELECT GTID_SUBSET(@@global.gtid_purged, ?)", rec.GTIDSet).Scan(&purgedOK); err != nil {
				return fmt.Errorf("comparing the checkpoint's GTID set with the purged ones: %w", err)
			}
			if !purgedOK {
				return refuse("--resume: %s has purged binary logs holding transactions after the stopped run's GTID set %s: a resume is no longer possible there; %s", r.s.inspectCfg.Addr(), rec.GTIDSet, startOver)
			}
		}
		return nil
	}
	serverID, err := r.serverID(ctx)
	if err != nil {
		return err
	}
	if serverID != rec.ServerID {
		return refuse("--resume: the stopped run read the binlog of the server with server_id %d, %s has server_id %d: binlog positions mean nothing on another server; point --host at the same server, or, with GTIDs, resume with --gtid (when the stopped run had it), or %s",
			rec.ServerID, r.s.inspectCfg.Addr(), serverID, startOver)
	}
	files, err := dbconn.BinlogFiles(ctx, r.s.inspect)
	if err != nil {
		return err
	}
	if !slices.Contains(files, rec.BinlogFile) {
		return refuse("--resume: the binary logs from %s on, which hold the changes made since the stopped run, have been purged from %s: a resume is no longer possible; %s",
			rec.BinlogFile, r.s.inspectCfg.Addr(), startOver)
	}
	return nil
}

// startAt is where each phase of a run starts: a new run's from the beginning (its zero value), a
// resumed run's where the stopped run's checkpoint says.
type startAt struct {
	resumed  bool            // prepare takes the stopped run's tables back instead of creating them
	position binlog.Position // the stream starts here; zero: at the server's current position
	after    []any           // the copy starts after this key; nil: at the first row
	copyDone bool            // the copy has nothing left to do
	deferred *deferral       // the indexes the stopped run deferred, built after the copy
}

// resumeAt is where the run a checkpoint recorded goes on: with gtid, at its GTID set, on whichever
// server is read now.
func resumeAt(rec checkpoint.Record, gtid bool) (startAt, error) {
	after, err := checkpoint.DecodeKey(rec.Watermark)
	if err != nil {
		return startAt{}, fmt.Errorf("reading the checkpoint's copy position: %w", err)
	}
	from := startAt{resumed: true, position: binlog.Position{File: rec.BinlogFile, Pos: rec.BinlogPos}, after: after, copyDone: rec.CopyDone}
	if gtid {
		from.position = binlog.Position{GTIDSet: rec.GTIDSet}
	}
	if d := rec.Deferred; d != nil {
		from.deferred = &deferral{names: d.Names, adds: d.Adds, create: d.Create}
	}
	return from, nil
}

func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }

func (r *run) serverID(ctx context.Context) (uint64, error) {
	var id uint64
	if err := r.s.inspect.QueryRowContext(ctx, "SELECT @@server_id").Scan(&id); err != nil {
		return 0, fmt.Errorf("reading server_id: %w", err)
	}
	return id, nil
}

// prepareResume takes over the ghost and changelog tables of the stopped run.
func (r *run) prepareResume(ctx context.Context) error {
	r.created = []string{r.p.changelog, r.p.names.ghost}
	var err error
	if r.ghost, err = table.Inspect(ctx, r.s.primary, r.cfg.Database, r.p.names.ghost); err != nil {
		return err
	}
	if err := checkGhost(ctx, r.cfg, r.s, r.p, r.ghost); err != nil {
		return err
	}
	if err := r.tryTriggers(ctx); err != nil {
		return err
	}
	r.deferred = r.from.deferred
	return nil
}

// startPosition is where the binlog stream starts: where the stopped run had replayed up to, or
// the server's current position.
func (r *run) startPosition(ctx context.Context) (binlog.Position, error) {
	if !r.from.position.IsZero() {
		return r.from.position, nil
	}
	pos, err := dbconn.ReadBinlogStatus(ctx, r.s.inspect, r.s.flavor)
	if err != nil {
		return binlog.Position{}, err
	}
	start := binlog.Position{File: pos.File, Pos: uint32(pos.Pos)}
	if r.cfg.GTID {
		if start.GTIDSet, err = dbconn.GTIDAt(ctx, r.s.inspect, r.s.flavor, pos); err != nil {
			return binlog.Position{}, err
		}
		if start.GTIDSet == "" {
			return binlog.Position{}, refuse("--gtid: %s has executed no transaction with a GTID at %s:%d (on MySQL, gtid_mode must be ON): run without --gtid",
				r.s.inspectCfg.Addr(), pos.File, pos.Pos)
		}
	}
	return start, nil
}

// checkpointLoop records the progress every --checkpoint-interval, starting at once. Each value in
// a record was committed before the record is written, so a record is never ahead of the ghost.
func (r *run) checkpointLoop(ctx context.Context, start binlog.Position) error {
	if !r.cfg.Checkpoint || r.cfg.Revert { // a revert runs again from its record, not a checkpoint
		return nil
	}
	serverID, err := r.serverID(ctx)
	if err != nil {
		return err
	}
	rec := checkpoint.Record{Alter: r.p.alter.Clause, Table: r.p.orig.Digest(), ServerID: serverID}
	if d := r.deferred; d != nil {
		rec.Deferred = &checkpoint.Deferred{Names: d.names, Adds: d.adds, Create: d.create}
	}
	tick := time.NewTicker(r.cfg.CheckpointInterval)
	defer tick.Stop()
	for {
		pos := r.applier.Position()
		if pos.IsZero() {
			pos = start
		}
		if rec.Watermark, err = checkpoint.EncodeKey(r.copier.Watermark()); err != nil {
			return err
		}
		rec.CopyDone = r.copyDone()
		rec.BinlogFile, rec.BinlogPos, rec.BinlogTime = pos.File, pos.Pos, r.applier.AppliedTime()
		rec.GTIDSet = pos.GTIDSet
		if err := r.store().Save(ctx, rec); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// An older checkpoint is still a correct one: a failed write only costs progress.
			r.log().Warn("could not write the checkpoint", zap.Error(err))
		} else {
			r.checkpointed.Store(true)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// copyDone reports whether every row has been copied, in this run or the one it resumes.
func (r *run) copyDone() bool {
	return r.copier.Done() || r.from.copyDone
}

// resumable reports whether a failed run leaves a ghost table worth continuing with --resume.
func (r *run) resumable(err error) bool {
	return r.cfg.Checkpoint && r.checkpointed.Load() && !errors.Is(err, errTableChanged) && !IsRefusal(err) && !r.spoiled.Load()
}
