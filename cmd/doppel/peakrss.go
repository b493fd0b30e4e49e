package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// peakRSSMiB is the most memory doppel has held in RAM (VmHWM), in MiB, or 0 where the system does
// not say (outside Linux). It is doppel's own figure: a parent's rusage would also count the memory
// of the process doppel was started from.
func peakRSSMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kib, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			if err != nil {
				return 0
			}
			return kib / 1024
		}
	}
	return 0
}
