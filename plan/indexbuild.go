package plan

import (
	"fmt"
	"strings"
	"time"
)

// indexBuildNsPerEntry is about how long a deferred index build takes per row and index, measured
// by make bench on a 2-core machine (MariaDB 10.11, sysbench rows, production durability: 1,000,000
// rows and two indexes in about 2.6 s). A replica replays the build in at least that long after the
// primary finished it: the estimate of the lag it causes.
const indexBuildNsPerEntry = 1300

// IndexBuildEstimate is about how long building indexes plain secondary indexes over rows rows
// takes: the replica lag a deferred build causes on a replica that replays it after the primary.
func IndexBuildEstimate(rows int64, indexes int) time.Duration {
	return time.Duration(rows*int64(indexes)*indexBuildNsPerEntry) * time.Nanosecond
}

// plainIndexesAfter counts the plain secondary indexes (non-unique, on columns) the altered table
// will have: the table's that the ALTER keeps, and those it adds.
func (p *planner) plainIndexesAfter() int {
	n := 0
	for _, ix := range p.t.Indexes {
		if !ix.IsPrimary() && !ix.Unique && !ix.Expression && strings.EqualFold(ix.Kind, "BTREE") && !p.droppedIndexes[strings.ToLower(ix.Name)] {
			n++
		}
	}
	return n + p.addedIndexes
}

// indexFinding says what deferring the secondary indexes would cost the replicas.
func (p *planner) indexFinding(r *Report) {
	if r.Instant() || r.Size == nil {
		return
	}
	n := p.plainIndexesAfter()
	if n == 0 {
		return
	}
	est := IndexBuildEstimate(r.Size.Rows, n)
	r.Findings = append(r.Findings, Finding{Safe, fmt.Sprintf("with replicas attached doppel keeps the %d plain secondary index(es) during the copy; --defer-secondary-indexes builds them after it, in about %s, which each serial replica replays as one statement after the primary: that much replica lag",
		n, durationText(est.Seconds()))})
}
