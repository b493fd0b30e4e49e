// Package checkpoint keeps a migration's progress durably in its changelog table, so that a run
// stopped by a crash, a kill or a server restart can be resumed where it was: the key up to which
// every row is copied, and the binlog position up to which every change is replayed.
package checkpoint

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/doppel-sql/doppel/internal/changelog"
)

// Version of the record format; a record of another version is not resumed.
const Version = 1

// Record is one checkpoint. It is only ever behind the ghost table, never ahead: every value in it
// was committed before the record was written.
type Record struct {
	Version int    `json:"version"`
	Alter   string `json:"alter"`
	// Table is the digest of the original table's definition: a resume refuses a changed table.
	Table string `json:"table"`
	// ServerID is the @@server_id of the server whose binlog is read: positions mean nothing on
	// another server.
	ServerID uint64 `json:"server_id"`
	// Watermark is the key up to which every row of the original has been copied; nil before the
	// first chunk.
	Watermark []Value `json:"watermark,omitempty"`
	CopyDone  bool    `json:"copy_done"`
	// BinlogFile and BinlogPos are where the replay is complete up to.
	BinlogFile string `json:"binlog_file"`
	BinlogPos  uint32 `json:"binlog_pos"`
	// GTIDSet, with --gtid, is the GTID set executed up to the same point: a resume may start from
	// it on another server of the topology.
	GTIDSet string `json:"gtid_set,omitempty"`
	// Deferred holds the secondary indexes left out of the ghost for the copy, if any.
	Deferred *Deferred `json:"deferred,omitempty"`
	// BinlogTime is when the last replayed transaction was written: how old the binlog a resume
	// needs is.
	BinlogTime time.Time `json:"binlog_time"`
	Written    time.Time `json:"written"`
}

// Deferred describes the indexes to add to the ghost after the copy.
type Deferred struct {
	Names  []string `json:"names"`
	Adds   []string `json:"adds"` // the ADD INDEX clause of each
	Create string   `json:"create"`
}

// Value is one key value, typed, so it comes back exactly as it was.
type Value struct {
	Type string `json:"t"` // i int64, u uint64, b bytes, s string, f float64, n NULL
	V    string `json:"v,omitempty"`
}

// EncodeKey turns a key as the copier holds it into Values.
func EncodeKey(key []any) ([]Value, error) {
	if key == nil {
		return nil, nil
	}
	out := make([]Value, len(key))
	for i, v := range key {
		switch x := v.(type) {
		case nil:
			out[i] = Value{Type: "n"}
		case int64:
			out[i] = Value{Type: "i", V: strconv.FormatInt(x, 10)}
		case uint64:
			out[i] = Value{Type: "u", V: strconv.FormatUint(x, 10)}
		case []byte:
			out[i] = Value{Type: "b", V: base64.StdEncoding.EncodeToString(x)}
		case string:
			out[i] = Value{Type: "s", V: x}
		case float64:
			out[i] = Value{Type: "f", V: strconv.FormatFloat(x, 'g', -1, 64)}
		default:
			return nil, fmt.Errorf("checkpoint: cannot keep a key value of type %T", v)
		}
	}
	return out, nil
}

// DecodeKey is the inverse of EncodeKey.
func DecodeKey(vals []Value) ([]any, error) {
	if vals == nil {
		return nil, nil
	}
	out := make([]any, len(vals))
	for i, v := range vals {
		var err error
		switch v.Type {
		case "n":
		case "i":
			out[i], err = strconv.ParseInt(v.V, 10, 64)
		case "u":
			out[i], err = strconv.ParseUint(v.V, 10, 64)
		case "b":
			out[i], err = base64.StdEncoding.DecodeString(v.V)
		case "s":
			out[i] = v.V
		case "f":
			out[i], err = strconv.ParseFloat(v.V, 64)
		default:
			err = fmt.Errorf("unknown type %q", v.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("checkpoint: reading key value %d: %w", i, err)
		}
	}
	return out, nil
}

// Store reads and writes the checkpoint of one migration.
type Store struct {
	db        *sql.DB // the primary
	changelog changelog.Table
}

// NewStore returns the store of the changelog table on db.
func NewStore(db *sql.DB, t changelog.Table) *Store { return &Store{db: db, changelog: t} }

// Save writes r, replacing the previous checkpoint.
func (s *Store) Save(ctx context.Context, r Record) error {
	r.Version = Version
	r.Written = time.Now().UTC()
	js, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return s.changelog.Write(ctx, s.db, changelog.HintCheckpoint, string(js))
}

// ErrNone means the changelog table holds no checkpoint.
var ErrNone = errors.New("no checkpoint")

// Load reads the checkpoint.
func (s *Store) Load(ctx context.Context) (Record, error) {
	js, err := s.changelog.Read(ctx, s.db, changelog.HintCheckpoint)
	if errors.Is(err, changelog.ErrNoRow) {
		return Record{}, ErrNone
	}
	if err != nil {
		return Record{}, err
	}
	var r Record
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		return Record{}, fmt.Errorf("reading the checkpoint: %w", err)
	}
	if r.Version != Version {
		return Record{}, fmt.Errorf("the checkpoint has format version %d; this doppel reads version %d", r.Version, Version)
	}
	return r, nil
}
