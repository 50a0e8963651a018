package examples_test

import (
	"encoding/json"
	"maps"
	"mime"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// TestJSONReadmeSettings loads json/caddy.json with the handler settings
// json/README.md shows as examples (`"name": value`) and checks each one
// takes effect. A duration must be written as a duration string ("30s"),
// as the main README's JSON does, not in nanoseconds.
func TestJSONReadmeSettings(t *testing.T) {
	doc := readFile(t, "json/README.md")
	frags := regexp.MustCompile("`(\"[a-z_]+\": [^`]+)`").FindAllSubmatch(doc, -1)
	if len(frags) == 0 {
		t.Fatal("json/README.md shows no handler settings")
	}
	settings := map[string]any{}
	for _, f := range frags {
		if err := json.Unmarshal([]byte("{"+string(f[1])+"}"), &settings); err != nil {
			t.Fatalf("%s: %v", f[1], err)
		}
	}

	var wantRetry, wantType string
	for name, v := range settings {
		switch name {
		case "retry_after":
			s, ok := v.(string)
			if !ok {
				t.Fatalf(`retry_after is shown as %v; write a duration string such as "30s"`, v)
			}
			d, err := caddy.ParseDuration(s)
			if err != nil {
				t.Fatalf("retry_after %q: %v", s, err)
			}
			wantRetry = strconv.Itoa(int((d + time.Second - 1) / time.Second))
		case "format":
			wantType = map[any]string{"problem": "application/problem+json", "json": "application/json", "html": "text/html", "text": "text/plain"}[v]
		default:
			t.Fatalf("json/README.md shows %s; add a check that it takes effect", name)
		}
	}

	cfg := decode(t, readFile(t, "json/caddy.json"))
	setDials(cfg, testcaddy.ClosedPort(t))
	routes := dig[[]any](t, cfg, "apps", "http", "servers", "srv0", "routes")
	h := dig[map[string]any](t, dig[[]any](t, routes[0], "handle")[0])
	maps.Copy(h, settings)
	// a refused connection answered 503, so Retry-After is sent
	h["status_map"] = map[string]any{"connection_refused": 503}
	c := start(t, encode(t, cfg))

	res, body := get(t, c, "/")
	if res.StatusCode != 503 {
		t.Fatalf("status %d, want 503\n%s", res.StatusCode, body)
	}
	if wantRetry != "" && res.Header.Get("Retry-After") != wantRetry {
		t.Errorf("Retry-After %q, want %s", res.Header.Get("Retry-After"), wantRetry)
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); wantType != "" && mt != wantType {
		t.Errorf("Content-Type %q, want %s", res.Header.Get("Content-Type"), wantType)
	}
}
