package main

import (
	"fmt"
	"html"
	"strings"
)

// svg accumulates the elements of an SVG image.
type svg struct {
	strings.Builder
}

// font is the image's font stack: DejaVu Sans where the image is
// converted on Linux, the usual sans-serif elsewhere.
const font = "DejaVu Sans, Helvetica, Arial, sans-serif"

// charWidth estimates the average width of a character of the font at
// size px, to fit text into a width without measuring it.
func charWidth(size float64) float64 { return 0.6 * size }

// printf writes an element; its arguments are numbers or escaped text.
func (s *svg) printf(format string, args ...any) {
	fmt.Fprintf(s, format, args...)
	s.WriteByte('\n')
}

// text writes s at x, y; attrs are further attributes of the element.
func (s *svg) text(x, y float64, size float64, attrs, text string) {
	s.printf(`<text x="%.1f" y="%.1f" font-size="%g" %s>%s</text>`, x, y, size, attrs, esc(text))
}

// esc escapes text for an SVG element or attribute.
func esc(text string) string { return html.EscapeString(text) }

// fit shortens text to at most n characters, ending it with "…" if cut.
func fit(text string, n int) string {
	r := []rune(text)
	if len(r) <= n || n < 1 {
		return text
	}
	return string(r[:n-1]) + "…"
}

// wrap breaks text at spaces into lines of at most n characters; a
// longer word gets a line of its own.
func wrap(text string, n int) []string {
	var lines []string
	line := ""
	for w := range strings.FieldsSeq(text) {
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= n:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
