// Package spell suggests the name a person probably meant: a flag, a status variable.
package spell

import "strings"

// Nearest returns the name in names closest to name, ignoring case, when it is at most within edits
// away (a likely typo), or "".
func Nearest(name string, names []string, within int) string {
	best, bestDist := "", within+1
	for _, n := range names {
		if d := distance(strings.ToLower(name), strings.ToLower(n)); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
