package upstreamerrors_test

import (
	"encoding/json"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// A placeholder written outside quotes in a JSON template can neither
// break the document nor add to it: a value that keeps the template's
// shape is used, any other gets the built-in problem body and an error
// entry in the log.
func TestJSONTemplateValueOutsideQuotes(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, `upstream_errors {
	template json inline <<JSON
	{"n": [{http.request.header.X-Num}], "id": "{{.RequestID}}"}
	JSON
}
reverse_proxy `+testcaddy.ClosedPort(t))

	for _, tc := range []struct {
		name, num string
		// want is the "n" array the template gives, nil for the built-in body
		want []any
	}{
		{"number", "5", []any{float64(5)}},
		{"empty", "", []any{}},
		{"script url", "javascript:alert(1)", nil},
		{"injected elements", "1,2", nil},
		{"injected member", `1], "admin": [true`, nil},
		{"string", `"x"`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body, id := request(t, c, "GET", "/", "Accept", "application/json", "X-Num", tc.num)
			if res.StatusCode != 502 {
				t.Fatalf("status %d", res.StatusCode)
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, body)
			}
			if tc.want != nil {
				n, _ := got["n"].([]any)
				if len(got) != 2 || got["id"] != id || len(n) != len(tc.want) || len(n) > 0 && n[0] != tc.want[0] {
					t.Errorf("custom body = %s, want n=%v id=%s", body, tc.want, id)
				}
				return
			}
			if got["n"] != nil || got["status"] != float64(502) || got["cause"] != "connection_refused" || got["request_id"] != id {
				t.Errorf("want the built-in problem object, got %s", body)
			}
			var errs int
			for _, e := range c.Entries(testcaddy.LoggerName) {
				if e["level"] == "error" && e["msg"] != "upstream error" && e["format"] == "json" {
					errs++
				}
			}
			if errs == 0 {
				t.Error("the fallback was not logged")
			}
		})
	}
}
