package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/doppel-sql/doppel/migration"
)

// progressBar keeps a live progress line at the bottom of a terminal; log lines written through it
// appear above the bar, which is redrawn after each.
type progressBar struct {
	mu   sync.Mutex
	w    io.Writer
	line string
	rate float64 // rows/s, smoothed
}

// isTerminal reports whether f is an interactive terminal.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Write writes a log line above the bar.
func (b *progressBar) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := io.WriteString(b.w, "\r\033[K"); err != nil {
		return 0, err
	}
	n, err := b.w.Write(p)
	if err == nil && b.line != "" {
		_, err = io.WriteString(b.w, b.line)
	}
	return n, err
}

// Update redraws the bar from a progress snapshot.
func (b *progressBar) Update(p migration.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// An exponential average over about ten seconds: steady, yet it follows real changes of pace.
	if p.RowsPerS > 0 || p.State > migration.StateCopying {
		b.rate = 0.8*b.rate + 0.2*p.RowsPerS
		if b.rate == 0.2*p.RowsPerS {
			b.rate = p.RowsPerS
		}
	}
	b.line = renderBar(p, b.rate)
	_, _ = io.WriteString(b.w, "\r\033[K"+b.line)
}

// Close removes the bar.
func (b *progressBar) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.line != "" {
		_, _ = io.WriteString(b.w, "\r\033[K")
		b.line = ""
	}
}

func renderBar(p migration.Progress, rate float64) string {
	const width = 24
	filled := int(p.Percent / 100 * width)
	bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
	eta := "ETA unknown"
	if p.State == migration.StateCopying && p.Throttled == "" && rate > 0 {
		eta = "ETA " + (time.Duration(float64(p.Estimated-p.Copied)/rate) * time.Second).Round(time.Second).String()
	}
	line := fmt.Sprintf("%s %5.1f%%  %d/%d rows  %.0f rows/s  %s  applied %d  backlog %d  %s",
		bar, p.Percent, p.Copied, p.Estimated, rate, eta, p.Applied, p.Backlog, p.State)
	if p.Throttled != "" {
		line += "  throttled: " + p.Throttled
	}
	return line
}
