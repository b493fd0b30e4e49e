package alter

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// refuse returns an error for a spec doppel must not run on a ghost table; native is the statement to
// run instead, where there is one. Every kind of spec the parser knows is named here: a new kind is
// refused until someone decides what a ghost copy does with it.
func refuse(spec *ast.AlterTableSpec, native string) error {
	switch spec.Tp {
	// Schema changes: the ghost table gets them, the copy carries the rows over.
	case ast.AlterTableAddColumns, ast.AlterTableDropColumn, ast.AlterTableModifyColumn,
		ast.AlterTableChangeColumn, ast.AlterTableRenameColumn, ast.AlterTableAlterColumn,
		ast.AlterTableDropPrimaryKey, ast.AlterTableDropIndex, ast.AlterTableRenameIndex,
		ast.AlterTableIndexInvisible, ast.AlterTableAlterCheck, ast.AlterTableDropCheck,
		ast.AlterTableForce, ast.AlterTableOrderByColumns,
		ast.AlterTableEnableKeys, ast.AlterTableDisableKeys:
		return nil
	case ast.AlterTableDropForeignKey:
		return fmt.Errorf("--alter drops a FOREIGN KEY. The ghost table carries the original's foreign keys under other names (constraint names are unique per schema), so the clause cannot run on it as written. Drop it natively, which is in place (instant on MariaDB 10.3.7+): %s; or give --discard-foreign-keys to leave every foreign key of the table out of the new one", native)
	case ast.AlterTableAddConstraint:
		if spec.Constraint != nil && spec.Constraint.Tp == ast.ConstraintForeignKey {
			return errors.New("--alter adds a FOREIGN KEY. Through a ghost table every copied and replayed row would be checked against the parent while the parent's rows change under it, and a row the check refuses would stop the migration half way; a native ALTER checks the rows once, in place. Add the foreign key with a native ALTER TABLE (with foreign_key_checks=0 it is in place and does not check the rows)")
		}
		return nil
	case ast.AlterTableOption:
		return checkEngine(spec.Options)

	// Repartitioning keeps every row: the ghost is partitioned the new way and the copy fills it.
	case ast.AlterTableAddPartitions, ast.AlterTableCoalescePartitions, ast.AlterTableReorganizePartition,
		ast.AlterTablePartition, ast.AlterTableRemovePartitioning, ast.AlterTableRebuildPartition:
		return checkPartitionEngines(spec)
	// Deleting partitions' rows: the ghost copies the table as it is, and the clause runs on it at the
	// swap (Alter.AtSwap).
	case ast.AlterTableDropPartition, ast.AlterTableTruncatePartition:
		return nil
	case ast.AlterTableExchangePartition, ast.AlterTableWithValidation, ast.AlterTableWithoutValidation:
		return fmt.Errorf("--alter exchanges a partition with another table: that moves rows between two tables without copying them, which a ghost table cannot do. Run it natively: %s", native)
	case ast.AlterTableCheckPartitions, ast.AlterTableOptimizePartition, ast.AlterTableRepairPartition:
		return fmt.Errorf("--alter holds a partition maintenance operation (CHECK, OPTIMIZE or REPAIR PARTITION), not a schema change: there is nothing to copy; run it natively: %s (to rebuild the whole table online instead, run doppel with --alter=\"ENGINE=InnoDB\")", native)
	case ast.AlterTableDiscardTablespace, ast.AlterTableImportTablespace,
		ast.AlterTableDiscardPartitionTablespace, ast.AlterTableImportPartitionTablespace:
		return fmt.Errorf("--alter holds a table maintenance operation (DISCARD or IMPORT TABLESPACE) that works on the table's files, not a schema change: run it natively: %s", native)

	case ast.AlterTableRenameTable:
		return errors.New("--alter renames the table (RENAME TO). doppel changes a table in place and keeps its name; rename it separately with RENAME TABLE, which is instant")
	case ast.AlterTableAlgorithm, ast.AlterTableLock:
		return errors.New("--alter sets ALGORITHM= or LOCK=. doppel decides how the change runs (online, through a ghost table); remove those options from --alter")
	}
	return fmt.Errorf("--alter holds an operation doppel does not run through a ghost table (it is not MySQL or MariaDB syntax, or not a schema change): run it natively if the server knows it: %s", native)
}

// checkEngine refuses a table engine other than InnoDB: the copy needs InnoDB's consistent reads and
// row locks (a locking read that makes concurrent deletes wait), and the deferred index build and the
// checksum assume them.
func checkEngine(opts []*ast.TableOption) error {
	for _, opt := range opts {
		// InnoBase is the server's old alias of InnoDB.
		if opt.Tp == ast.TableOptionEngine && !strings.EqualFold(opt.StrValue, "InnoDB") && !strings.EqualFold(opt.StrValue, "InnoBase") {
			return fmt.Errorf("--alter makes the table %s (ENGINE=%s). doppel copies a live table with InnoDB's consistent reads and row locks, and its index build and checksum rely on them: it cannot copy into another engine. Change the engine with a native ALTER TABLE (it locks the table for writes while it copies)",
				opt.StrValue, opt.StrValue)
		}
	}
	return nil
}

// checkPartitionEngines applies checkEngine to the options of every partition the spec defines.
func checkPartitionEngines(spec *ast.AlterTableSpec) error {
	defs := spec.PartDefinitions
	if spec.Partition != nil {
		defs = append(defs, spec.Partition.Definitions...)
	}
	for _, d := range defs {
		if err := checkEngine(d.Options); err != nil {
			return err
		}
		for _, sub := range d.Sub {
			if err := checkEngine(sub.Options); err != nil {
				return err
			}
		}
	}
	return nil
}
