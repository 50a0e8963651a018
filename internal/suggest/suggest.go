// Package suggest finds the valid name a mistyped one was meant to be, for
// error messages that say `did you mean "retry_after"?`.
package suggest

import (
	"fmt"
	"strings"
)

// Nearest returns the candidate closest to typed by edit distance, or ""
// when none is close enough to be a likely typo: at most two edits, or a
// quarter of the candidate's length for long names. Case is ignored, and
// ties go to the earlier candidate so the message is stable.
func Nearest(typed string, candidates []string) string {
	typed = strings.ToLower(typed)
	best, bestDist := "", -1
	for _, c := range candidates {
		d := distance(typed, strings.ToLower(c))
		if d <= max(2, len(c)/4) && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, in bytes: the
// names compared are ASCII. No library in the module graph provides one.
func distance(a, b string) int {
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			diag, row[j] = row[j], min(row[j]+1, row[j-1]+1, diag+cost)
		}
	}
	return row[len(b)]
}

// Hint is the end of an error on an unknown name: the nearest of
// candidates when typed looks like a typo of one, then listed under the
// label what, as in `; did you mean "retry_after"? Valid subdirectives:
// discard_limit, format, ...`.
func Hint(typed string, candidates []string, what string, listed []string) string {
	list := what + ": " + strings.Join(listed, ", ")
	if near := Nearest(typed, candidates); near != "" {
		return fmt.Sprintf("; did you mean %q? %s%s", near, strings.ToUpper(list[:1]), list[1:])
	}
	return "; " + list
}
