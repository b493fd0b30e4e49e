package binlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"go.uber.org/zap"
)

// Reader streams the binlog of one server and sends the transactions of the watched tables.
// Create it with NewReader and call Run once; Position may be called from any goroutine.
type Reader struct {
	cfg    Config
	addr   string
	log    *zap.Logger
	slog   *slog.Logger
	tables map[string]bool

	// Connection timings (see heartbeatPeriod and readTimeout), and reconnection: the first wait,
	// the longest wait, and how long the stream may stay down before Run gives up. Constants in
	// production; tests shorten them.
	heartbeatPeriod, readTimeout        time.Duration
	backoffMin, backoffMax, giveUpAfter time.Duration

	running atomic.Bool
	// lostAt is when the stream was lost (unix nanoseconds), until an event arrives again; 0 while
	// it streams.
	lostAt atomic.Int64

	mu  sync.Mutex
	pos Position // end of the last transaction sent or skipped
}

// Reconnection defaults.
const (
	backoffMin  = 100 * time.Millisecond
	backoffMax  = 5 * time.Second
	giveUpAfter = 2 * time.Minute
)

// NewReader checks cfg and returns a Reader; it does not connect yet.
func NewReader(cfg Config) (*Reader, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	log = log.Named("binlog")
	tables := make(map[string]bool, len(cfg.Tables))
	for _, t := range cfg.Tables {
		tables[t] = true
	}
	return &Reader{
		cfg:             cfg,
		addr:            net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
		log:             log,
		slog:            goMySQLLogger(log),
		tables:          tables,
		heartbeatPeriod: heartbeatPeriod,
		readTimeout:     readTimeout,
		backoffMin:      backoffMin,
		backoffMax:      backoffMax,
		giveUpAfter:     giveUpAfter,
	}, nil
}

// Lost is how long the stream has been down, reconnecting (0 while it streams).
func (r *Reader) Lost() time.Duration {
	at := r.lostAt.Load()
	if at == 0 {
		return 0
	}
	return time.Since(time.Unix(0, at))
}

// Position returns the end of the last transaction Run sent on out, or skipped because it changed
// no watched table: restarting Run there neither loses nor repeats a transaction. Before Run has
// passed a transaction it is Run's start position.
func (r *Reader) Position() Position {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pos
}

func (r *Reader) setPosition(p Position) {
	r.mu.Lock()
	r.pos = p
	r.mu.Unlock()
}

// Run streams the binlog from start, which must be the end of a transaction (or the start of a
// binlog file), until ctx ends or the stream fails for good. Every transaction that changed a
// watched table, and every statement logged as text that ran in the watched schema or names it
// (see DDL), is sent on out in binlog order. Sending blocks, so a slow consumer slows the stream.
//
// A lost connection or a restarted server is not a failure: Run reconnects from Position, with
// backoff, and gives up when the stream has been down for about two minutes. Errors reconnecting
// cannot cure end Run at once: the binlog at the position is purged, access is denied, an event
// cannot be decoded, or the binlog holds something the stream cannot follow safely (a row image
// that is not FULL, a partial JSON update, a prepared XA transaction on a watched table, an
// incident). Run returns ctx.Err() when ctx ends (only a server that accepts a connection but
// never answers its handshake delays that, by up to ten seconds). Run must not be called again
// while it runs.
func (r *Reader) Run(ctx context.Context, start Position, out chan<- Txn) error {
	if start.File == "" && !r.cfg.GTID {
		return errors.New("binlog stream: the start position names no binlog file")
	}
	if r.cfg.GTID && start.GTIDSet == "" {
		return errors.New("binlog stream: positioned by GTID, but the start position has no GTID set")
	}
	if out == nil {
		return errors.New("binlog stream: no channel to send on")
	}
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("binlog stream: Run is already running")
	}
	defer r.running.Store(false)
	r.setPosition(start)
	r.log.Info("streaming the binlog", zap.String("server", r.addr), zap.Stringer("from", start),
		zap.String("database", r.cfg.Database), zap.Strings("tables", r.cfg.Tables))

	wait := r.backoffMin
	downSince := time.Now()
	for {
		from := r.Position()
		healthy, err := r.stream(ctx, from, out)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var perm permanentError
		if errors.As(err, &perm) {
			return perm.error
		}
		now := time.Now()
		r.lostAt.CompareAndSwap(0, now.UnixNano())
		if healthy {
			wait, downSince = r.backoffMin, now
		}
		if down := now.Sub(downSince); down >= r.giveUpAfter {
			return fmt.Errorf("binlog stream of %s lost for %s, giving up (resume position %s): %w", r.addr, down.Round(time.Second), r.Position(), err)
		}
		r.log.Warn("binlog stream lost, reconnecting", zap.Error(err), zap.Stringer("from", r.Position()), zap.Duration("after", wait))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, r.backoffMax)
	}
}

// permanentError marks an error that reconnecting cannot cure.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// stream runs one connection from from until it fails. healthy reports whether the connection
// proved itself, by passing a transaction or by staying up for the read timeout: Run then starts
// its backoff and its give-up clock afresh. A connection that fails at once, again and again, does
// not.
func (r *Reader) stream(ctx context.Context, from Position, out chan<- Txn) (healthy bool, err error) {
	// Close stops go-mysql's goroutine and kills the dump thread on the server (unless ctx has
	// ended, which stops that dial).
	syncer := replication.NewBinlogSyncer(r.syncerConfig(dialer(ctx)))
	defer syncer.Close()

	var gset mysql.GTIDSet // the set executed up to the last transaction passed, with cfg.GTID
	var streamer *replication.BinlogStreamer
	if r.cfg.GTID {
		if gset, err = mysql.ParseGTIDSet(r.cfg.Flavor, from.GTIDSet); err != nil {
			return false, permanentError{fmt.Errorf("reading the GTID set %q to start the binlog stream of %s from: %w", from.GTIDSet, r.addr, err)}
		}
		streamer, err = syncer.StartSyncGTID(gset.Clone())
	} else {
		streamer, err = syncer.StartSync(mysql.Position{Name: from.File, Pos: from.Pos})
	}
	if err != nil {
		return false, classify(fmt.Errorf("starting the binlog stream of %s at %s: %w", r.addr, from, err))
	}
	connected := time.Now()
	proved := func() bool { return r.Position() != from || time.Since(connected) >= r.readTimeout }
	asm := newAssembler(r.cfg.Database, r.tables, from.File, r.log)
	emit := func(t Txn) error {
		if last := r.Position(); t.End.Compare(last) <= 0 {
			// Resuming is only exact if positions only move forward.
			return fmt.Errorf("a transaction ends at %s, not after the previous end %s", t.End, last)
		}
		if gset != nil {
			if t.GTID != "" {
				if err := gset.Update(t.GTID); err != nil {
					return fmt.Errorf("adding GTID %s to the executed set: %w", t.GTID, err)
				}
			}
			t.End.GTIDSet = gset.String()
		}
		if len(t.Changes) > 0 || t.DDL != nil {
			select {
			case out <- t:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		r.setPosition(t.End)
		return nil
	}
	for {
		ev, err := streamer.GetEvent(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return proved(), classifyEventError(err, asm.file)
		}
		r.lostAt.Store(0)
		if err := asm.feed(ev, emit); err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return proved(), permanentError{fmt.Errorf("reading the binlog of %s: %w", r.addr, err)}
		}
	}
}

// classify marks the server errors that reconnecting cannot cure: the binlog cannot be read at the
// position (purged, or not an event boundary), or the user may not read it.
func classify(err error) error {
	var me *mysql.MyError
	if errors.As(err, &me) {
		switch me.Code {
		case mysql.ER_MASTER_FATAL_ERROR_READING_BINLOG, mysql.ER_ACCESS_DENIED_ERROR, mysql.ER_SPECIFIC_ACCESS_DENIED_ERROR:
			return permanentError{err}
		}
	}
	return err
}

// classifyEventError classifies an error of the event stream. An event go-mysql cannot decode
// will not decode after a reconnection either. go-mysql's message for it quotes the event's bytes,
// which may be row data: it is replaced by one that names the event.
func classifyEventError(err error, file string) error {
	var ee *replication.EventError
	if !errors.As(err, &ee) {
		return classify(fmt.Errorf("reading the binlog: %w", err))
	}
	detail := " (go-mysql's message is withheld: it quotes the event's bytes)"
	if _, err := rowsKind(ee.Header.EventType); err == nil || ee.Header.EventType == replication.PARTIAL_UPDATE_ROWS_EVENT {
		// A rows event's message is decodeRows's own, and safe.
		detail = ": " + ee.Err
	}
	return permanentError{fmt.Errorf("cannot decode the %s event ending at %s:%d%s", ee.Header.EventType, file, ee.Header.LogPos, detail)}
}

// decodeRows is go-mysql's RowsEventDecodeFunc: it decodes the header of every rows event, which
// names the table, and the rows of watched tables only. The rows of other tables stay undecoded
// (Rows is nil) and the assembler skips them.
func (r *Reader) decodeRows(e *replication.RowsEvent, data []byte) error {
	pos, err := e.DecodeHeader(data)
	if err != nil {
		return err
	}
	if string(e.Table.Schema) != r.cfg.Database || !r.tables[string(e.Table.Table)] {
		return nil
	}
	if e.Type() == replication.EnumRowsEventTypeUnknown {
		// PARTIAL_UPDATE_ROWS_EVENT, the only rows event go-mysql gives no type: refuse it before
		// decoding, which would print the JSON diff to stdout when it fails.
		return errPartialJSON
	}
	if err := e.DecodeData(pos, data); err != nil {
		msg := err.Error()
		if strings.HasPrefix(msg, "parse rows event panic") {
			// go-mysql recovered from a panic and quoted the event's bytes and decoded rows.
			msg = "go-mysql panicked decoding it"
		}
		return fmt.Errorf("decoding the rows of `%s`.`%s`: %s", e.Table.Schema, e.Table.Table, msg)
	}
	return nil
}
