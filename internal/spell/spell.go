// Package spell finds what a mistyped name most likely stands for, for "did you mean"
// hints: unknown keys, steps, actions, params and config keys all ask it.
package spell

import "strings"

// Nearest returns the candidate closest to s by edit distance, ignoring case and taking
// '-' for '_', when it is close: at most a third of the longer string's length (at least
// 2 edits), or one is a prefix of the other (3 characters or more). Ties go to the
// alphabetically first, so hints are stable; "" when nothing is close, or s is itself a
// candidate.
func Nearest(s string, candidates []string) string {
	best, bestD := "", -1
	ls := fold(s)
	for _, c := range candidates {
		if c == s || c == "" {
			continue
		}
		lc := fold(c)
		d := distance(ls, lc)
		limit := max(len(ls), len(lc)) / 3
		limit = max(limit, 2)
		ok := d <= limit || (len(ls) >= 3 && (strings.HasPrefix(lc, ls) || strings.HasPrefix(ls, lc)))
		if !ok {
			continue
		}
		if bestD < 0 || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	return best
}

func fold(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }

// distance is the Levenshtein distance between a and b, in runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
