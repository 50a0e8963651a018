package suggest

import "testing"

func TestNearest(t *testing.T) {
	subs := []string{"discard_limit", "format", "intercept", "retry_after", "status", "type"}
	causes := []string{"connection_read_timeout", "connection_refused", "connection_terminated", "connection_timeout", "dns_error", "dns_timeout"}
	for _, tc := range []struct {
		typed      string
		candidates []string
		want       string
	}{
		{"retry_afer", subs, "retry_after"},
		{"Retry_After", subs, "retry_after"},
		{"retryafter", subs, "retry_after"},
		{"intercpet", subs, "intercept"},
		{"form", subs, "format"},
		{"stauts", subs, "status"},
		{"colour", subs, ""},
		{"x", subs, ""},
		{"conection_refused", causes, "connection_refused"}, //nolint:misspell // the typo is the input
		{"connection_timout", causes, "connection_timeout"},
		{"dns_timeout", causes, "dns_timeout"},
		{"dns_", causes, ""},
		// as far from each: the first listed wins
		{"cause_c", []string{"cause_a", "cause_b"}, "cause_a"},
		{"cause_c", []string{"cause_b", "cause_a"}, "cause_b"},
		{"dns_errr", causes, "dns_error"},
		{"refused", causes, ""},
	} {
		if got := Nearest(tc.typed, tc.candidates); got != tc.want {
			t.Errorf("Nearest(%q) = %q, want %q", tc.typed, got, tc.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"kitten", "sitting", 3},
		{"retry_afer", "retry_after", 1},
		{"stauts", "status", 2},
		{"flaw", "lawn", 2},
	} {
		if got := distance(tc.a, tc.b); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestHint(t *testing.T) {
	subs := []string{"format", "retry_after"}
	if got, want := Hint("retry_afer", subs, "valid subdirectives", subs), `; did you mean "retry_after"? Valid subdirectives: format, retry_after`; got != want {
		t.Errorf("near:\n got %s\nwant %s", got, want)
	}
	if got, want := Hint("colour", subs, "valid subdirectives", subs), `; valid subdirectives: format, retry_after`; got != want {
		t.Errorf("far:\n got %s\nwant %s", got, want)
	}
}
