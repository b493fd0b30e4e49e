package binlog

import (
	"fmt"
	"testing"

	"github.com/go-mysql-org/go-mysql/replication"
	"go.uber.org/zap"
)

// FuzzAssembler feeds the assembler sequences of events drawn from the fuzzer's bytes, in any order
// (well-formed or not: a rows event outside a transaction, a COMMIT without BEGIN, a rotation
// inside a transaction, compressed payloads): it never panics; what it emits ends strictly after
// what it emitted before, only changes of the watched tables, each with the images its kind has;
// and once it fails it is not fed again, as the reader does.
func FuzzAssembler(f *testing.F) {
	f.Add([]byte{0, 1, 4, 5, 2})
	f.Add([]byte{1, 3, 4, 6, 4, 7, 2, 9, 0, 3, 4, 5, 10, 2})
	f.Add([]byte{11, 0, 1, 4, 5, 2, 12, 8})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 200 {
			ops = ops[:200]
		}
		asm := newAssembler("db", map[string]bool{"t": true}, f1, zap.NewNop())
		var last Position
		emit := func(x Txn) error {
			if last.File != "" && x.End.Compare(last) <= 0 {
				t.Fatalf("a transaction ends at %s, not after %s", x.End, last)
			}
			last = x.End
			for _, c := range x.Changes {
				if c.Table != "t" {
					t.Fatalf("a change of an unwatched table %q was emitted", c.Table)
				}
				if (c.Kind == Insert) != (c.Before == nil) || (c.Kind == Delete) != (c.After == nil) {
					t.Fatalf("a %v change with before %v and after %v", c.Kind, c.Before, c.After)
				}
			}
			return nil
		}
		pos, file := uint32(100), 1
		for i, op := range ops {
			pos += 100
			ev := fuzzEvent(op, pos, ops[i:], &file)
			if err := asm.feed(ev, emit); err != nil {
				return // the reader stops at the first error
			}
		}
	})
}

// fuzzEvent is the event op names, at pos; rest gives a payload its inner events. file is the
// number of the binlog file being read: a real rotation moves to the next one, and a fake one, as
// a server sends when a dump starts, names the current one (files never go backwards).
func fuzzEvent(op byte, pos uint32, rest []byte, file *int) *replication.BinlogEvent {
	table := "t"
	if op&0x80 != 0 {
		table = "other"
	}
	switch op & 0x0f {
	case 0:
		return mariaGTID(pos)
	case 1:
		return query(pos, "db", "BEGIN")
	case 2:
		return xid(pos)
	case 3:
		return anonGTID(pos)
	case 4:
		return tableMap(pos, "db", table)
	case 5:
		return insertRows(pos, table, row(int32(pos)), row(int32(pos+1)))
	case 6:
		return rowsEv(replication.UPDATE_ROWS_EVENTv2, pos, "db", table, row(int32(1)), row(int32(2)))
	case 7:
		return rowsEv(replication.DELETE_ROWS_EVENTv2, pos, "db", table, row(int32(pos)))
	case 8:
		return query(pos, "db", "COMMIT")
	case 9:
		return query(pos, "db", "ALTER TABLE "+table+" ADD COLUMN x INT")
	case 10:
		*file++
		return realRotate(pos, fmt.Sprintf("binlog.%06d", *file))
	case 11:
		return fakeRotate(fmt.Sprintf("binlog.%06d", *file), uint64(pos))
	case 12:
		var inner []*replication.BinlogEvent
		for j, b := range rest[1:min(len(rest), 5)] {
			if b&0x0f != 12 { // no payload inside a payload
				inner = append(inner, fuzzEvent(b, pos-uint32(50-j), nil, file))
			}
		}
		return payload(pos, inner...)
	case 13:
		return fde()
	case 14:
		return query(pos, "db", "SAVEPOINT `s1`")
	default:
		return generic(replication.HEARTBEAT_EVENT, pos)
	}
}
