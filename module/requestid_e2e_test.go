package upstreamerrors_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// The ID the module makes for a request without one is the `uuid` of
// Caddy's access log entry for it, as {http.request.uuid} would be.
func TestRequestIDInAccessLog(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, "log\nupstream_errors\nreverse_proxy "+testcaddy.ClosedPort(t))
	res, err := c.Client.Get(c.URL("/"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	id := res.Header.Get("X-Request-Id")
	if res.StatusCode != http.StatusBadGateway || id == "" {
		t.Fatalf("status %d, request ID %q; want 502 with one", res.StatusCode, id)
	}
	if n := len(c.WaitEntries(id, time.Second)); n != 1 {
		t.Fatalf("%d module entries with ID %s", n, id)
	}
	var uuids []any
	for _, e := range c.Entries("") {
		if e["msg"] == "handled request" {
			uuids = append(uuids, e["uuid"])
		}
	}
	if len(uuids) != 1 || uuids[0] != id {
		t.Errorf("access log uuids %v, want [%s]", uuids, id)
	}
}
