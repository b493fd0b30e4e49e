package localtests

import (
	"testing"
	"time"
)

// TestReplicaBehindAtStart migrates a table through a replica that has not yet applied the primary's
// latest writes when doppel starts, the normal state of a replica under load: replication is
// stopped as doppel starts and resumed a second later. doppel creates its ghost table on the
// primary with CREATE TABLE _t_gho LIKE t and then reads its start position on the replica, so the
// replica's binlog replays that statement after the start position. doppel must not take its own
// statement for another session's change of the table.
func TestReplicaBehindAtStart(t *testing.T) {
	bin := buildDoppel(t)
	f := newFixture("replica-behind-at-start", "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v VARCHAR(30) NULL, n BIGINT NULL)",
		"ADD COLUMN added INT NULL")
	c := newCase(t, bin, f, 3000)
	c.replicaPause = time.Second
	c.run()
}
