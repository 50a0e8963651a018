package upstreamerrors

import "testing"

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct{ accept, def, want string }{
		{"", FormatProblem, FormatProblem},
		{"*/*", FormatProblem, FormatProblem},
		{"*/*", FormatHTML, FormatHTML},
		{"application/json", FormatProblem, FormatJSON},
		{"application/problem+json", FormatHTML, FormatProblem},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", FormatProblem, FormatHTML},
		{"text/plain", FormatProblem, FormatText},
		{"TEXT/PLAIN; charset=utf-8", FormatProblem, FormatText},
		{"text/*", FormatProblem, FormatHTML},
		{"text/*", FormatText, FormatText},
		{"application/*", FormatHTML, FormatProblem},
		{"application/json;q=0.5, text/plain;q=0.9", FormatProblem, FormatText},
		{"text/html;q=0, */*", FormatHTML, FormatProblem},
		{"application/problem+json;q=0, application/*", FormatProblem, FormatJSON},
		{"text/html;q=0, application/json", FormatHTML, FormatJSON},
		{"image/png", FormatProblem, FormatProblem},
		{"application/json;q=abc", FormatProblem, FormatProblem},
		{"*/*;q=0.1, application/json", FormatHTML, FormatJSON},
		{",,;;,", FormatProblem, FormatProblem},
	} {
		if got := negotiate(tc.accept, tc.def); got != tc.want {
			t.Errorf("negotiate(%q, %s) = %s, want %s", tc.accept, tc.def, got, tc.want)
		}
	}
}
