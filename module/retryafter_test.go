package upstreamerrors

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestValidRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	for _, tc := range []struct {
		vals []string
		want bool
	}{
		{[]string{"120"}, true},
		{[]string{"0"}, true},
		{[]string{"86400"}, true},
		{[]string{date(time.Hour)}, true},
		{[]string{now.Add(time.Hour).Format(time.RFC850)}, true},
		{[]string{now.Add(time.Hour).Format(time.ANSIC)}, true},

		{nil, false},
		{[]string{""}, false},
		{[]string{"86401"}, false},
		{[]string{"99999999999999999999999"}, false},
		{[]string{"-5"}, false},
		{[]string{"+5"}, false},
		{[]string{"1.5"}, false},
		{[]string{"soon<script>"}, false},
		{[]string{"10, 20"}, false},
		{[]string{"10", "20"}, false},
		{[]string{date(-time.Hour)}, false},
		{[]string{date(0)}, false},
		{[]string{date(25 * time.Hour)}, false},
	} {
		t.Run(fmt.Sprintf("%q", tc.vals), func(t *testing.T) {
			if got := validRetryAfter(tc.vals, now); got != tc.want {
				t.Errorf("validRetryAfter(%q) = %v, want %v", tc.vals, got, tc.want)
			}
		})
	}
}

func TestSetRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     []string
		status int
		want   []string
	}{
		{"valid kept on 503", []string{"120"}, 503, []string{"120"}},
		{"invalid replaced on 503", []string{"soon<script>"}, 503, []string{"7"}},
		{"two fields replaced on 503", []string{"1", "2"}, 503, []string{"7"}},
		{"none on 503 gets the fallback", nil, 503, []string{"7"}},
		{"valid kept on 502", []string{"120"}, 502, []string{"120"}},
		{"invalid dropped on 502", []string{"-5"}, 502, nil},
		{"none on 504 stays none", nil, 504, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := http.Header{}
			if tc.in != nil {
				hdr["Retry-After"] = tc.in
			}
			setRetryAfter(hdr, tc.status, "7")
			got := hdr["Retry-After"]
			if len(got) != len(tc.want) || len(got) > 0 && got[0] != tc.want[0] {
				t.Errorf("Retry-After = %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzRetryAfter checks that whatever an upstream sends, what is kept is
// one field of digits within the bound or a future date within it.
func FuzzRetryAfter(f *testing.F) {
	f.Add("120", "")
	f.Add("soon<script>", "")
	f.Add("Sat, 28 Nov 2026 13:00:00 GMT", "")
	f.Add("10", "20")
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, a, b string) {
		vals := []string{a}
		if b != "" {
			vals = append(vals, b)
		}
		if !validRetryAfter(vals, now) {
			return
		}
		if len(vals) != 1 {
			t.Fatalf("kept %d fields", len(vals))
		}
		if isDigits(a) {
			secs, err := strconv.Atoi(strings.TrimLeft(a, "0") + "0")
			if err != nil || secs/10 > 86400 {
				t.Fatalf("kept an unbounded delta %q", a)
			}
			return
		}
		when, err := http.ParseTime(a)
		if err != nil || !when.After(now) || when.Sub(now) > maxRetryAfter {
			t.Fatalf("kept %q: %v %v", a, when, err)
		}
		for i := 0; i < len(a); i++ {
			if a[i] < 0x20 || a[i] > 0x7e {
				t.Fatalf("kept a control or non-ASCII byte in %q", a)
			}
		}
	})
}
