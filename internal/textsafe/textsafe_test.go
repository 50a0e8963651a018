package textsafe

import "testing"

func TestStripControl(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text\twith tab", "plain text\twith tab"},
		{"a\r\nb\x00c\x1bd\x7fe", "abcde"},
		{"csi\u009b31m end", "csi31m end"},
		{"next\u0085line", "nextline"},
		{"ab\u202ecd\u202c", "abcd"},
		{"\u2066isolate\u2069 \u2067x\u2068", "isolate x"},
		{"\u200emark\u200f\u061c", "mark"},
		{"sep\u2028ara\u2029tors", "separators"},
		{"é ü 日本 \u00a0nbsp", "é ü 日本 \u00a0nbsp"},
		{"bad\xffutf8", "bad\ufffdutf8"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := StripControl(tc.in); got != tc.want {
				t.Errorf("StripControl(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// Every character in the removed classes goes, whatever its position.
func TestStripControlRanges(t *testing.T) {
	for _, rg := range [][2]rune{{0, 0x08}, {0x0a, 0x1f}, {0x7f, 0x9f}, {0x202a, 0x202e}, {0x2066, 0x2069}, {0x200e, 0x200f}, {0x2028, 0x2029}, {0x061c, 0x061c}} {
		for r := rg[0]; r <= rg[1]; r++ {
			if got := StripControl("a" + string(r) + "b"); got != "ab" {
				t.Errorf("U+%04X kept: %q", r, got)
			}
		}
	}
}
