package adminapi

import (
	"strings"
	"testing"
	"time"
)

// readUntil turns a PUT's body into the announced end, refusing what
// would announce none or a wrong one.
func TestReadUntil(t *testing.T) {
	now := time.Date(2026, 5, 1, 16, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		body string
		want time.Time
		err  string
	}{
		{"", time.Time{}, ""},
		{"  \n", time.Time{}, ""},
		{"{}", time.Time{}, ""},
		{`{"until": "2026-05-01T18:00:00Z"}`, now.Add(2 * time.Hour), ""},
		{`{"until": "2026-05-01T20:00:00+02:00"}`, now.Add(2 * time.Hour), ""},
		{`{"for": "90m"}`, now.Add(90 * time.Minute), ""},
		{`{"for": "1500ms"}`, now.Add(2 * time.Second), ""},
		{`{"until": "2026-05-01T16:00:00Z"}`, time.Time{}, "is in the past"},
		{`{"until": "2026-05-01"}`, time.Time{}, "is not an RFC 3339 time"},
		{`{"for": "0s"}`, time.Time{}, "must be positive"},
		{`{"for": "-1h"}`, time.Time{}, "must be positive"},
		{`{"for": "10"}`, time.Time{}, "is not a duration"},
		{`{"for": "1h", "until": "2026-05-01T18:00:00Z"}`, time.Time{}, "not both"},
		{`{"for": 60}`, time.Time{}, "not valid JSON"},
		{`{"end": "1h"}`, time.Time{}, "not valid JSON"},
		{`{"for": "1h"} {}`, time.Time{}, "more than one JSON value"},
		{`["1h"]`, time.Time{}, "not valid JSON"},
		{strings.Repeat(" ", maxRequestBody+1), time.Time{}, "longer than"},
	} {
		got, err := readUntil(strings.NewReader(tc.body), now)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want one naming %q", tc.body, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.body, err)
		case !got.Equal(tc.want):
			t.Errorf("%q: until %s, want %s", tc.body, got, tc.want)
		}
	}
}
