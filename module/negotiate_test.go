package upstreamerrors

import (
	"fmt"
	"strings"
	"testing"
)

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		accept    []string
		def, want string
	}{
		{nil, FormatProblem, FormatProblem},
		{[]string{""}, FormatProblem, FormatProblem},
		{[]string{"*/*"}, FormatProblem, FormatProblem},
		{[]string{"*/*"}, FormatHTML, FormatHTML},
		{[]string{"application/json"}, FormatProblem, FormatJSON},
		{[]string{"application/problem+json"}, FormatHTML, FormatProblem},
		{[]string{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, FormatProblem, FormatHTML},
		{[]string{"text/plain"}, FormatProblem, FormatText},
		{[]string{"TEXT/PLAIN; charset=utf-8"}, FormatProblem, FormatText},
		{[]string{"text/*"}, FormatProblem, FormatHTML},
		{[]string{"text/*"}, FormatText, FormatText},
		{[]string{"application/*"}, FormatHTML, FormatProblem},
		{[]string{"application/json;q=0.5, text/plain;q=0.9"}, FormatProblem, FormatText},
		{[]string{"text/html;q=0, */*"}, FormatHTML, FormatProblem},
		{[]string{"application/problem+json;q=0, application/*"}, FormatProblem, FormatJSON},
		{[]string{"text/html;q=0, application/json"}, FormatHTML, FormatJSON},
		{[]string{"image/png"}, FormatProblem, FormatProblem},
		{[]string{"application/json;q=abc"}, FormatProblem, FormatProblem},
		{[]string{"*/*;q=0.1, application/json"}, FormatHTML, FormatJSON},
		{[]string{",,;;,"}, FormatProblem, FormatProblem},

		// equal weight and specificity: the range listed first wins
		{[]string{"application/json, text/plain"}, FormatProblem, FormatJSON},
		{[]string{"text/plain, application/json"}, FormatProblem, FormatText},
		{[]string{"text/html, */*"}, FormatProblem, FormatHTML},
		{[]string{"text/plain;q=0.5, text/html;q=0.5"}, FormatProblem, FormatText},

		// quoted parameter values are opaque: neither ';' nor ',' nor
		// "q=" inside them counts
		{[]string{`text/html;charset="a;q=0", application/json;q=0.5`}, FormatProblem, FormatHTML},
		{[]string{`image/png;x=", application/json, y"`}, FormatProblem, FormatProblem},
		{[]string{`text/plain;x="a\"b,c;q=0";q=0.9, text/html;q=0.8`}, FormatProblem, FormatText},

		// every field line counts, as if joined with commas
		{[]string{"text/html;q=0.1", "application/json"}, FormatProblem, FormatJSON},
		{[]string{"*/*", "text/html;q=0"}, FormatHTML, FormatProblem},

		// only RFC 9110 qvalues are weights; a range with another is ignored
		{[]string{"application/json;q=NaN"}, FormatProblem, FormatProblem},
		{[]string{"application/json;q=1.5"}, FormatProblem, FormatProblem},
		{[]string{"application/json;q=0.0001"}, FormatProblem, FormatProblem},
		{[]string{"application/json;q=0.001, text/html;q=0.000"}, FormatHTML, FormatJSON},
		{[]string{"application/json;q=1.000"}, FormatProblem, FormatJSON},
	} {
		t.Run(strings.Join(tc.accept, ", ")+" default "+tc.def, func(t *testing.T) {
			if got := negotiate(tc.accept, tc.def); got != tc.want {
				t.Errorf("negotiate(%q, %s) = %s, want %s", tc.accept, tc.def, got, tc.want)
			}
		})
	}
}

// hugeAccept repeats a refusal and a wildcard to n bytes, the shape that
// made the old negotiation quadratic, and ends with tail.
func hugeAccept(n int, tail string) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString("text/html;q=0, */*;q=0.5, application/problem+json;q=0, ")
	}
	b.WriteString(tail)
	return b.String()
}

// A huge header is answered like the same header with its repeats
// removed, without allocating: the work depends on its length only.
func TestNegotiateHugeHeader(t *testing.T) {
	huge := hugeAccept(300<<10, "application/json;q=0.4")
	dedup := "text/html;q=0, */*;q=0.5, application/problem+json;q=0, application/json;q=0.4"
	for _, def := range []string{FormatProblem, FormatHTML, FormatText} {
		t.Run(def, func(t *testing.T) {
			want := negotiate([]string{dedup}, def)
			if got := negotiate([]string{huge}, def); got != want {
				t.Errorf("default %s: huge header picked %s, deduplicated picked %s", def, got, want)
			}
		})
	}
	// html and problem are refused, so */* falls to the first other format
	if want := FormatJSON; negotiate([]string{dedup}, FormatProblem) != want {
		t.Errorf("deduplicated header picked %s, want %s", negotiate([]string{dedup}, FormatProblem), want)
	}
	if n := testing.AllocsPerRun(3, func() { negotiate([]string{huge}, FormatProblem) }); n != 0 {
		t.Errorf("negotiating a huge header allocates %.0f times", n)
	}
}

// eachRange visits each range once: the number of ranges seen grows with
// the header, not with its square.
func TestEachRangeVisitsEachRangeOnce(t *testing.T) {
	for _, reps := range []int{1, 10, 1000} {
		t.Run(fmt.Sprint(reps), func(t *testing.T) {
			h := strings.Repeat(`text/html;q=0;x="a,b;c", */*, `, reps)
			n := 0
			eachRange(h, func(string, int) { n++ })
			if n != 2*reps {
				t.Errorf("%d repeats: %d ranges visited, want %d", reps, n, 2*reps)
			}
		})
	}
}

func BenchmarkNegotiate(b *testing.B) {
	for _, bc := range []struct{ name, accept string }{
		{"browser", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"},
		{"300KB", hugeAccept(300<<10, "application/json;q=0.4")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			accept := []string{bc.accept}
			b.SetBytes(int64(len(bc.accept)))
			b.ReportAllocs()
			for b.Loop() {
				negotiate(accept, FormatProblem)
			}
		})
	}
}
