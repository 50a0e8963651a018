// Package textsafe makes untrusted text safe to show.
package textsafe

import "strings"

// StripControl makes a value safe to show in a plain-text body: it drops
// every character that is invisible or that changes how the rest of the
// text is laid out, so a request path or header cannot forge lines or
// reorder what the reader sees ("Trojan Source", CVE-2021-42574):
//
//   - C0 controls other than tab, and DEL (line breaks, escapes);
//   - C1 controls U+0080-U+009F (U+009B is a one-byte CSI to a terminal,
//     U+0085 a line break);
//   - U+2028 and U+2029, the line and paragraph separators;
//   - the bidi embeddings and overrides U+202A-U+202E and isolates
//     U+2066-U+2069;
//   - the bidi marks U+200E, U+200F and U+061C: invisible, and able to
//     move neutral characters (digits, punctuation) across the text.
//
// Invalid UTF-8 becomes U+FFFD.
func StripControl(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r < 0x20 && r != '\t', r >= 0x7f && r <= 0x9f,
			r == 0x2028, r == 0x2029,
			r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069,
			r == 0x200e, r == 0x200f, r == 0x061c:
			return -1
		}
		return r
	}, s)
}
