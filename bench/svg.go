package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The picture of a loaded run, written by hand (no plotting dependency): above, the load's
// latency (p50 and p95 of each half second, and its slowest transaction); below, the copy's
// progress and the replica's lag; doppel's phases shaded behind both.
const (
	svgWidth, svgHeight = 960, 560
	marginLeft          = 70
	marginRight         = 70
	plotWidth           = svgWidth - marginLeft - marginRight
	topY, topH          = 60, 230 // latency panel
	botY, botH          = 340, 160
	binWidth            = 500 * time.Millisecond
)

var phaseColours = map[string]string{
	"preparing": "#eeeeee", "copying": "#dbeafe", "adding-indexes": "#fde68a", "catching-up": "#e9d5ff",
	"verifying": "#d1fae5", "postponed": "#f5f5f5", "waiting-for-replicas": "#fecaca", "cutting-over": "#fca5a5", "cleaning-up": "#eeeeee",
}

func writeSVG(dir, name string, r *Result) error {
	tl := r.timeline
	if tl == nil || len(tl.commits) == 0 {
		return nil
	}
	from, to := tl.commits[0].at, tl.end
	span := to.Sub(from).Seconds()
	x := func(t time.Time) float64 { return marginLeft + t.Sub(from).Seconds()/span*plotWidth }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgWidth, svgHeight, svgWidth, svgHeight)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", marginLeft, esc(r.Name))
	fmt.Fprintf(&b, `<text x="%d" y="40" fill="#555">load at %.0f tx/s; p95 before %.1f ms, during %.1f ms (%.1f×), after %.1f ms; primary %.1f s, replica %.1f s, peak lag %.2f s</text>`+"\n",
		marginLeft, r.Load.Rate, r.Load.Before.P95, r.Load.During.P95, r.Load.During.P95/max(r.Load.Before.P95, 0.001), r.Load.After.P95, r.Seconds, r.ReplicaSeconds, r.PeakLagMs/1000)

	// Phases, shaded behind both panels, named above the latency panel.
	for i, p := range tl.phases() {
		colour := phaseColours[p.name]
		if colour == "" {
			colour = "#f3f3f3"
		}
		x0, x1 := x(p.from), x(p.to)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", x0, topY, max(x1-x0, 1), botY+botH-topY, colour)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" fill="#333">%s</text>`+"\n", x0+2, topY-4-10*(i%2), esc(p.name))
	}
	// Latency panel, log scale from 0.5 ms to the slowest transaction.
	var maxLat float64
	for _, c := range tl.commits {
		maxLat = max(maxLat, c.value*1000)
	}
	lo, hi := math.Log10(0.5), math.Log10(max(maxLat, 10)*1.2)
	yLat := func(ms float64) float64 {
		return topY + topH - (math.Log10(max(ms, 0.5))-lo)/(hi-lo)*topH
	}
	axes(&b, topY, topH)
	for _, ms := range []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000} {
		if math.Log10(ms) > hi {
			break
		}
		y := yLat(ms)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ccc" stroke-dasharray="2,3"/>`+"\n", marginLeft, marginLeft+plotWidth, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%g ms</text>`+"\n", marginLeft-4, y+4, ms)
	}
	var p50, p95, worst []xy
	for start := from; start.Before(to); start = start.Add(binWidth) {
		var v []float64
		for _, c := range tl.commits {
			if !c.at.Before(start) && c.at.Before(start.Add(binWidth)) {
				v = append(v, c.value*1000)
			}
		}
		if len(v) == 0 {
			continue
		}
		mid := x(start.Add(binWidth / 2))
		p50 = append(p50, xy{mid, yLat(percentile(v, 0.5))})
		p95 = append(p95, xy{mid, yLat(percentile(v, 0.95))})
		worst = append(worst, xy{mid, yLat(percentile(v, 1))})
	}
	for _, w := range worst {
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="1.5" fill="#999"/>`+"\n", w.x, w.y)
	}
	polyline(&b, p50, "#2563eb")
	polyline(&b, p95, "#dc2626")
	fmt.Fprintf(&b, `<text x="%d" y="%d" transform="rotate(-90 %d %d)" text-anchor="middle">load latency (log)</text>`+"\n", 16, topY+topH/2, 16, topY+topH/2)

	// Progress and lag panel.
	axes(&b, botY, botH)
	var prog []xy
	for _, p := range tl.points {
		if p.estimate > 0 {
			prog = append(prog, xy{x(p.at), botY + botH - min(float64(p.copied)/float64(p.estimate), 1)*botH})
		}
	}
	var maxLag float64
	for _, l := range tl.lags {
		maxLag = max(maxLag, l.value)
	}
	lagTop := math.Max(2, math.Ceil(maxLag))
	var lag []xy
	for _, l := range tl.lags {
		lag = append(lag, xy{x(l.at), botY + botH - l.value/lagTop*botH})
	}
	polyline(&b, prog, "#059669")
	polyline(&b, lag, "#d97706")
	for _, f := range []float64{0, 0.5, 1} {
		y := botY + botH - f*botH
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#059669">%.0f%%</text>`+"\n", marginLeft-4, y+4, f*100)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="#d97706">%.1f s</text>`+"\n", marginLeft+plotWidth+4, y+4, f*lagTop)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" transform="rotate(-90 %d %d)" text-anchor="middle">rows copied</text>`+"\n", 16, botY+botH/2, 16, botY+botH/2)
	fmt.Fprintf(&b, `<text x="%d" y="%d" transform="rotate(90 %d %d)" text-anchor="middle">replica lag</text>`+"\n", svgWidth-16, botY+botH/2, svgWidth-16, botY+botH/2)
	// The time axis, and doppel's start and end.
	for s := 0.0; s <= span; s += tickEvery(span) {
		xs := marginLeft + s/span*plotWidth
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%.0f s</text>`+"\n", xs, botY+botH+16, s)
	}
	for _, t := range []time.Time{tl.start, tl.start.Add(time.Duration(r.Seconds * float64(time.Second)))} {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#111" stroke-dasharray="4,3"/>`+"\n", x(t), x(t), topY, botY+botH)
	}
	// Legend.
	ly := svgHeight - 22
	for i, l := range []struct{ colour, text string }{
		{"#2563eb", "load p50 (per 0.5 s)"}, {"#dc2626", "load p95"}, {"#999", "slowest"},
		{"#059669", "rows copied"}, {"#d97706", "replica lag"}, {"#111", "doppel start / end"},
	} {
		lx := marginLeft + i*145
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="4" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", lx, ly-4, l.colour, lx+16, ly, esc(l.text))
	}
	b.WriteString("</svg>\n")
	path := filepath.Join(dir, "bench-"+name+".svg")
	say("  picture: %s", path)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

type xy struct{ x, y float64 }

func polyline(b *strings.Builder, pts []xy, colour string) {
	if len(pts) == 0 {
		return
	}
	parts := make([]string, len(pts))
	for i, p := range pts {
		parts[i] = fmt.Sprintf("%.1f,%.1f", p.x, p.y)
	}
	fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", colour, strings.Join(parts, " "))
}

func axes(b *strings.Builder, y, h int) {
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", marginLeft, y, plotWidth, h)
}

// tickEvery is the time axis's step: about ten labels.
func tickEvery(span float64) float64 {
	for _, s := range []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600} {
		if span/s <= 12 {
			return s
		}
	}
	return 1200
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
