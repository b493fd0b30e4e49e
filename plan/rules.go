package plan

import (
	"github.com/doppel-sql/doppel/dbconn"
)

// op names one kind of change the server's online DDL rules tell apart. The classifier maps each
// ALTER clause (with the table as it is now) to one or more ops; the rules table below maps an op and a
// server to an algorithm.
type op string

const (
	opAddColumnLast          op = "add column as the last column"
	opAddColumnMiddle        op = "add column before other columns (FIRST/AFTER)"
	opAddColumnAutoInc       op = "add AUTO_INCREMENT column"
	opAddColumnBeforeVirtual op = "add column before a VIRTUAL generated column"
	opAddVirtualColumn       op = "add VIRTUAL generated column"
	opAddStoredColumn        op = "add STORED generated column"
	opDropColumn             op = "drop column"
	opDropVirtualColumn      op = "drop VIRTUAL generated column"
	opRenameColumn           op = "rename column"
	opReorderColumn          op = "move column (FIRST/AFTER)"
	opSetDefault             op = "set or drop column default"
	opColumnComment          op = "change column comment"
	opChangeType             op = "change column type"
	opExtendVarchar          op = "extend VARCHAR within its length-byte size"
	opExtendVarcharShort     op = "extend VARCHAR of at most 127 bytes past 255 bytes"
	opEnumAppend             op = "append ENUM/SET members, same storage size"
	opCharsetNoIndex         op = "change collation, or utf8mb3 to utf8mb4, of an unindexed column"
	opCharsetIndexed         op = "change collation, or utf8mb3 to utf8mb4, of an indexed column"
	opMakeNullable           op = "make column NULL"
	opMakeNullableRedund     op = "make column NULL in ROW_FORMAT=REDUNDANT"
	opMakeNotNull            op = "make column NOT NULL"
	opAddIndex               op = "add secondary index"
	opAddFulltext            op = "add FULLTEXT index"
	opDropIndex              op = "drop index"
	opRenameIndex            op = "rename index"
	opIndexVisibility        op = "change index visibility"
	opAddPrimaryKey          op = "add PRIMARY KEY"
	opDropPrimaryKey         op = "drop PRIMARY KEY"
	opReplacePrimaryKey      op = "drop and add PRIMARY KEY"
	opAddForeignKey          op = "add FOREIGN KEY (foreign_key_checks=ON)"
	opDropForeignKey         op = "drop FOREIGN KEY"
	opAddCheck               op = "add CHECK constraint"
	opDropCheck              op = "drop CHECK constraint"
	opRenameTable            op = "rename table"
	opRebuild                op = "rebuild table (FORCE, ENGINE=same, ROW_FORMAT, KEY_BLOCK_SIZE)"
	opChangeEngine           op = "change storage engine"
	opAutoIncrementValue     op = "change AUTO_INCREMENT value"
	opTableComment           op = "change table comment"
	opTableStats             op = "change STATS_* options"
	opTableCharset           op = "change table default character set"
	opConvertCharset         op = "CONVERT TO CHARACTER SET"
	opDropPartition          op = "drop or truncate partitions (deletes their rows)"
	opAddRangePartition      op = "add RANGE or LIST partitions"
	opMovePartitionRows      op = "add HASH or KEY partitions, coalesce, reorganize or rebuild partitions (their rows are copied)"
	opPartitionBy            op = "partition, repartition or remove partitioning"
)

// rule says that from version since on, flavor runs op with algo. For one op and flavor the row with
// the highest since not above the server's version applies; before the first row there is no rule.
type rule struct {
	op      op
	flavor  string // "mysql" or "mariadb", as dbconn.Flavor.Name()
	since   dbconn.Version
	algo    Algorithm
	rebuild bool // the table is rebuilt: as slow as a copy, though writes may go on
}

func v(major, minor, patch int) dbconn.Version {
	return dbconn.Version{Major: major, Minor: minor, Patch: patch}
}

// Sources of the rows (see docs/plan.md for the links):
//   - M: MySQL Reference Manual 5.7/8.0/8.4, "Online DDL Operations" (the Instant / In Place /
//     Rebuilds Table / Permits Concurrent DML tables); 8.0.12 brought ALGORITHM=INSTANT, 8.0.28 instant
//     RENAME COLUMN, 8.0.29 instant ADD COLUMN anywhere and DROP COLUMN.
//   - B: MariaDB Knowledge Base, "InnoDB Online DDL Operations with the INSTANT / NOCOPY / INPLACE Alter
//     Algorithm"; ALGORITHM=INSTANT/NOCOPY exist from 10.3.7, instant ADD COLUMN last from 10.3.2,
//     instant DROP/reorder from 10.4.0, the wider VARCHAR and NULL cases from 10.4.3 (MDEV-15563),
//     instant charset/collation changes from 10.4 (MDEV-15564, MDEV-17301). MariaDB's NOCOPY (in
//     place, no rebuild, writes go on) is Inplace here.
//
// Where the sources say nothing for a case the row takes the more expensive reading, so the plan never
// promises INSTANT it cannot keep; --attempt-instant-ddl adds ALGORITHM=INSTANT, so a wrong row fails
// fast instead of copying. Versions before MySQL 5.7 and MariaDB 10.0 have no rows.
var rules = []rule{
	// Column operations.
	{opAddColumnLast, "mysql", v(5, 7, 0), Inplace, true},      // M
	{opAddColumnLast, "mysql", v(8, 0, 12), Instant, false},    // M
	{opAddColumnLast, "mariadb", v(10, 0, 0), Inplace, true},   // B
	{opAddColumnLast, "mariadb", v(10, 3, 7), Instant, false},  // B (10.3.2 did it, the keyword came in 10.3.7)
	{opAddColumnMiddle, "mysql", v(5, 7, 0), Inplace, true},    // M
	{opAddColumnMiddle, "mysql", v(8, 0, 29), Instant, false},  // M
	{opAddColumnMiddle, "mariadb", v(10, 0, 0), Inplace, true}, // B
	{opAddColumnMiddle, "mariadb", v(10, 4, 0), Instant, false},
	{opAddColumnBeforeVirtual, "mysql", v(5, 7, 0), Inplace, true}, // M names no such limit: as opAddColumnMiddle
	{opAddColumnBeforeVirtual, "mysql", v(8, 0, 29), Instant, false},
	{opAddColumnBeforeVirtual, "mariadb", v(10, 0, 0), Copy, true},     // sandbox 10.11: "INPLACE ADD or DROP of virtual columns cannot be combined with other ALTER TABLE actions"
	{opAddColumnAutoInc, "mysql", v(5, 7, 0), InplaceLocking, true},    // M: no concurrent DML
	{opAddColumnAutoInc, "mariadb", v(10, 0, 0), InplaceLocking, true}, // B: "with the exception of adding an auto-increment column"
	{opAddVirtualColumn, "mysql", v(5, 7, 0), Inplace, false},          // M
	{opAddVirtualColumn, "mysql", v(8, 0, 12), Instant, false},         // M
	{opAddVirtualColumn, "mariadb", v(10, 2, 0), Inplace, false},       // B: generated columns statement support
	{opAddVirtualColumn, "mariadb", v(10, 3, 7), Instant, false},       // sandbox: instant on 10.11; assumed from 10.3.7, when ALGORITHM=INSTANT came
	{opAddStoredColumn, "mysql", v(5, 7, 0), Copy, true},               // M
	{opAddStoredColumn, "mariadb", v(10, 2, 0), Copy, true},
	{opDropColumn, "mysql", v(5, 7, 0), Inplace, true},    // M
	{opDropColumn, "mysql", v(8, 0, 29), Instant, false},  // M
	{opDropColumn, "mariadb", v(10, 0, 0), Inplace, true}, // B
	{opDropColumn, "mariadb", v(10, 4, 0), Instant, false},
	{opDropVirtualColumn, "mysql", v(5, 7, 0), Inplace, false}, // M
	{opDropVirtualColumn, "mysql", v(8, 0, 12), Instant, false},
	{opDropVirtualColumn, "mariadb", v(10, 2, 0), Inplace, false},
	{opDropVirtualColumn, "mariadb", v(10, 3, 7), Instant, false}, // sandbox: instant on 10.11; assumed from 10.3.7, when ALGORITHM=INSTANT came
	{opRenameColumn, "mysql", v(5, 7, 0), Inplace, false},         // M: metadata only
	{opRenameColumn, "mysql", v(8, 0, 28), Instant, false},        // M
	{opRenameColumn, "mariadb", v(10, 0, 0), Inplace, false},      // B
	{opRenameColumn, "mariadb", v(10, 3, 7), Instant, false},      // B: CHANGE COLUMN with the same definition
	{opReorderColumn, "mysql", v(5, 7, 0), Inplace, true},         // M: never instant
	{opReorderColumn, "mariadb", v(10, 0, 0), Inplace, true},      // B
	{opReorderColumn, "mariadb", v(10, 4, 0), Instant, false},
	{opSetDefault, "mysql", v(5, 7, 0), Inplace, false}, // M: metadata only
	{opSetDefault, "mysql", v(8, 0, 12), Instant, false},
	{opSetDefault, "mariadb", v(10, 0, 0), Inplace, false},
	{opSetDefault, "mariadb", v(10, 3, 7), Instant, false}, // B
	{opColumnComment, "mysql", v(5, 7, 0), Inplace, false},
	{opColumnComment, "mysql", v(8, 0, 12), Instant, false},
	{opColumnComment, "mariadb", v(10, 0, 0), Inplace, false},
	{opColumnComment, "mariadb", v(10, 3, 7), Instant, false},
	{opChangeType, "mysql", v(5, 7, 0), Copy, true},        // M: "Changing the column data type"
	{opChangeType, "mariadb", v(10, 0, 0), Copy, true},     // B
	{opExtendVarchar, "mysql", v(5, 7, 0), Inplace, false}, // M: "Extending VARCHAR column size", never instant
	{opExtendVarchar, "mariadb", v(10, 2, 2), Inplace, false},
	{opExtendVarchar, "mariadb", v(10, 3, 7), Instant, false},  // B
	{opExtendVarcharShort, "mysql", v(5, 7, 0), Copy, true},    // M: crossing 255 bytes copies
	{opExtendVarcharShort, "mariadb", v(10, 0, 0), Copy, true}, // B
	{opExtendVarcharShort, "mariadb", v(10, 4, 3), Instant, false},
	{opEnumAppend, "mysql", v(5, 7, 0), Inplace, false}, // M: metadata only
	{opEnumAppend, "mysql", v(8, 0, 12), Instant, false},
	{opEnumAppend, "mariadb", v(10, 0, 0), Inplace, false},
	{opEnumAppend, "mariadb", v(10, 3, 7), Instant, false}, // B
	{opCharsetNoIndex, "mysql", v(5, 7, 0), Copy, true},    // M: a data type change
	{opCharsetNoIndex, "mariadb", v(10, 0, 0), Copy, true},
	{opCharsetNoIndex, "mariadb", v(10, 4, 0), Instant, false}, // B: MDEV-15564
	{opCharsetIndexed, "mysql", v(5, 7, 0), Copy, true},
	{opCharsetIndexed, "mariadb", v(10, 0, 0), Copy, true},
	{opCharsetIndexed, "mariadb", v(10, 4, 0), Inplace, false}, // B: NOCOPY, indexes rebuilt (MDEV-17301)
	{opMakeNullable, "mysql", v(5, 7, 0), Inplace, true},       // M
	{opMakeNullable, "mariadb", v(10, 0, 0), Inplace, true},    // B
	{opMakeNullableRedund, "mysql", v(5, 7, 0), Inplace, true},
	{opMakeNullableRedund, "mariadb", v(10, 0, 0), Inplace, true},
	{opMakeNullableRedund, "mariadb", v(10, 4, 3), Instant, false}, // B: MDEV-15563
	{opMakeNotNull, "mysql", v(5, 7, 0), Inplace, true},            // M: needs strict sql_mode
	{opMakeNotNull, "mariadb", v(10, 0, 0), Inplace, true},         // B: never NOCOPY

	// Index operations.
	{opAddIndex, "mysql", v(5, 7, 0), Inplace, false},              // M
	{opAddIndex, "mariadb", v(10, 0, 0), Inplace, false},           // B: NOCOPY
	{opAddFulltext, "mysql", v(5, 7, 0), InplaceLocking, false},    // M: no concurrent DML
	{opAddFulltext, "mariadb", v(10, 0, 0), InplaceLocking, false}, // B: LOCK=SHARED
	{opDropIndex, "mysql", v(5, 7, 0), Inplace, false},             // M: metadata only, never instant
	{opDropIndex, "mariadb", v(10, 0, 0), Inplace, false},          // B: NOCOPY; 10.11 answers "Try ALGORITHM=NOCOPY" to INSTANT
	{opRenameIndex, "mysql", v(5, 7, 0), Inplace, false},           // M
	{opRenameIndex, "mariadb", v(10, 5, 2), Instant, false},        // the syntax came in 10.5.2; instant on 10.11 (sandbox test)
	{opIndexVisibility, "mysql", v(8, 0, 0), Inplace, false},
	{opAddPrimaryKey, "mysql", v(5, 7, 0), Inplace, true},    // M
	{opAddPrimaryKey, "mariadb", v(10, 0, 0), Inplace, true}, // B: never NOCOPY
	{opDropPrimaryKey, "mysql", v(5, 7, 0), Copy, true},      // M
	{opDropPrimaryKey, "mariadb", v(10, 0, 0), Copy, true},   // B
	{opReplacePrimaryKey, "mysql", v(5, 7, 0), Inplace, true},
	{opReplacePrimaryKey, "mariadb", v(10, 0, 0), Inplace, true},
	{opAddForeignKey, "mysql", v(5, 7, 0), Copy, true},    // M: INPLACE only with foreign_key_checks=OFF
	{opAddForeignKey, "mariadb", v(10, 0, 0), Copy, true}, // B: likewise
	{opDropForeignKey, "mysql", v(5, 7, 0), Inplace, false},
	{opDropForeignKey, "mariadb", v(10, 0, 0), Inplace, false},
	{opDropForeignKey, "mariadb", v(10, 3, 7), Instant, false}, // B
	{opAddCheck, "mysql", v(8, 0, 16), Copy, true},
	{opAddCheck, "mariadb", v(10, 2, 1), Copy, true},
	{opDropCheck, "mysql", v(8, 0, 16), Inplace, false},
	{opDropCheck, "mariadb", v(10, 2, 1), Inplace, false},
	{opDropCheck, "mariadb", v(10, 3, 7), Instant, false}, // B: MDEV-16331

	// Table operations.
	{opRenameTable, "mysql", v(5, 7, 0), Inplace, false},
	{opRenameTable, "mysql", v(8, 0, 12), Instant, false}, // M
	{opRenameTable, "mariadb", v(10, 0, 0), Inplace, false},
	{opRenameTable, "mariadb", v(10, 3, 7), Instant, false}, // B
	{opRebuild, "mysql", v(5, 7, 0), Inplace, true},         // M: "Performing a null rebuild", row format
	{opRebuild, "mariadb", v(10, 0, 0), Inplace, true},      // B: FORCE, ENGINE=InnoDB, ROW_FORMAT
	{opChangeEngine, "mysql", v(5, 7, 0), Copy, true},
	{opChangeEngine, "mariadb", v(10, 0, 0), Copy, true},
	{opAutoIncrementValue, "mysql", v(5, 7, 0), Inplace, false}, // M
	{opAutoIncrementValue, "mariadb", v(10, 0, 0), Inplace, false},
	{opAutoIncrementValue, "mariadb", v(10, 3, 7), Instant, false}, // B
	{opTableComment, "mysql", v(5, 7, 0), Inplace, false},
	{opTableComment, "mariadb", v(10, 0, 0), Inplace, false},
	{opTableComment, "mariadb", v(10, 3, 7), Instant, false}, // sandbox: instant on 10.11; assumed from 10.3.7, when ALGORITHM=INSTANT came
	{opTableStats, "mysql", v(5, 7, 0), Inplace, false},      // M: metadata only
	{opTableStats, "mariadb", v(10, 0, 0), Inplace, false},
	{opTableStats, "mariadb", v(10, 3, 7), Instant, false}, // sandbox: instant on 10.11; assumed from 10.3.7, when ALGORITHM=INSTANT came
	{opTableCharset, "mysql", v(5, 7, 0), Inplace, true},   // M: "Specifying a character set" rebuilds when the encoding differs
	{opTableCharset, "mariadb", v(10, 0, 0), Inplace, true},
	{opTableCharset, "mariadb", v(10, 3, 7), Instant, false}, // sandbox: instant on 10.11; assumed from 10.3.7, when ALGORITHM=INSTANT came
	{opConvertCharset, "mysql", v(5, 7, 0), Copy, true},      // M: "Converting a character set"
	{opConvertCharset, "mariadb", v(10, 0, 0), Copy, true},

	// Partitioning. M: "Partitioning Operations": DROP/TRUNCATE and ADD of RANGE or LIST partitions
	// are in place and touch only the partitions' files; moving rows between partitions is in place
	// but blocks writes while it copies them (LOCK=SHARED at least); PARTITION BY and REMOVE
	// PARTITIONING copy the table. MariaDB likewise.
	{opDropPartition, "mysql", v(5, 7, 0), Inplace, false},
	{opDropPartition, "mariadb", v(10, 0, 0), Inplace, false},
	{opAddRangePartition, "mysql", v(5, 7, 0), Inplace, false},
	{opAddRangePartition, "mariadb", v(10, 0, 0), Inplace, false},
	{opMovePartitionRows, "mysql", v(5, 7, 0), InplaceLocking, true},
	{opMovePartitionRows, "mariadb", v(10, 0, 0), InplaceLocking, true},
	{opPartitionBy, "mysql", v(5, 7, 0), Copy, true},
	{opPartitionBy, "mariadb", v(10, 0, 0), Copy, true},
}

// lookup returns the rule for o on the server, and false when the rules table has none. With
// instantAllowed false it returns the newest rule that is not INSTANT: what the server does when one
// of INSTANT's preconditions fails (a FULLTEXT index, ROW_FORMAT=COMPRESSED, ...).
func lookup(o op, f dbconn.Flavor, instantAllowed bool) (rule, bool) {
	var best rule
	found := false
	for _, r := range rules {
		if r.op != o || r.flavor != f.Name() || !f.Version().AtLeast(r.since.Major, r.since.Minor, r.since.Patch) {
			continue
		}
		if !instantAllowed && r.algo == Instant {
			continue
		}
		if !found || r.since.AtLeast(best.since.Major, best.since.Minor, best.since.Patch) {
			best, found = r, true
		}
	}
	return best, found
}
