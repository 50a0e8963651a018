package upstreamerrors

import (
	"net/http/httptest"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/recent"
)

// Recording a failure allocates nothing once the error's text is known.
func TestRecordRecentAllocates(t *testing.T) {
	h := &Handler{Recent: 8}
	h.registerRecent()
	t.Cleanup(h.unregisterRecent)
	r := httptest.NewRequest("GET", "/p?token=secret", nil)
	f := &failure{cause: causeConnectionRefused, status: 502, errText: "dial tcp: connection refused", requestID: "rid-alloc"}
	if n := testing.AllocsPerRun(100, func() { recordRecent(r, f, "srv", "127.0.0.1:1") }); n != 0 {
		t.Errorf("a write allocates %v times", n)
	}
	got := recent.List(1, "")
	if len(got) != 1 || got[0].RequestID != "rid-alloc" || got[0].Path != "/p" || got[0].Upstream != "127.0.0.1:1" {
		t.Errorf("recorded %+v", got)
	}
}

// recent must be 0 (the default) or 1 to 10000.
func TestRecentSizeValidated(t *testing.T) {
	for n, ok := range map[int]bool{-1: false, 0: true, 1: true, recent.Max: true, recent.Max + 1: false} {
		if err := (&Handler{Recent: n}).Validate(); (err == nil) != ok {
			t.Errorf("recent %d: %v", n, err)
		}
	}
}
