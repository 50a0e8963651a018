package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer that run can write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestDemo runs the demo as `go run ./examples/demo` does, on free ports,
// sends the requests its banner suggests, and stops it.
func TestDemo(t *testing.T) {
	addr, admin := freeAddr(t), freeAddr(t)
	t.Setenv("DEMO_ADDR", addr)
	t.Setenv("DEMO_ADMIN", admin)
	// run sets these; t.Setenv restores them after the test
	for _, k := range []string{"LEGACY", "DEAD", "DEMO_HOST", "DEMO_PORT"} {
		t.Setenv(k, "")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, &out) }()

	base := "http://" + addr
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}

	// wait for the banner, which is printed once Caddy runs
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "Try:") {
		select {
		case err := <-done:
			t.Fatalf("demo stopped: %v\n%s", err, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner:\n%s", out.String())
		}
	}
	if !strings.Contains(out.String(), "curl -i "+base+"/dead/") {
		t.Errorf("banner does not show the demo's address:\n%s", out.String())
	}

	for _, tc := range []struct {
		path   string
		status int
		cause  string
	}{
		{"/ok", 200, ""},
		{"/notfound", 404, ""},
		{"/error", 502, "http_response_status"},
		{"/unavailable", 503, "http_response_status"},
		{"/reset", 502, "connection_terminated"},
		{"/garbage", 502, "http_protocol_error"},
		{"/dead/", 502, "connection_refused"},
		{"/slow/timeout", 504, "http_response_timeout"},
		{"/slow/ok", 200, ""},
		{"/pool/ok", 200, ""},
	} {
		res, body := get(tc.path)
		if res.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d\n%s", tc.path, res.StatusCode, tc.status, body)
			continue
		}
		if tc.cause == "" {
			continue
		}
		var p struct{ Cause string }
		if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: Content-Type %q", tc.path, ct)
		} else if err := json.Unmarshal([]byte(body), &p); err != nil || p.Cause != tc.cause {
			t.Errorf("%s: cause %q (%v), want %s", tc.path, p.Cause, err, tc.cause)
		}
	}

	// the pool runs out of upstreams once the backend fails its checks
	get("/admin/down")
	var res *http.Response
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if res, _ = get("/pool/ok"); res.StatusCode == 503 {
			break
		}
	}
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" {
		t.Errorf("pool with the backend down: status %d, Retry-After %q; want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	get("/admin/up")

	if res, _ := client.Get("http://" + admin + "/config/"); res == nil || res.StatusCode != 200 {
		t.Errorf("admin endpoint did not answer on %s", admin)
	} else {
		res.Body.Close()
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("demo did not stop")
	}
	// the listener closes as Caddy unloads the config: wait for it, within
	// a bound, rather than race it
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(end) {
			t.Fatal("Caddy still listens after the demo stopped")
		}
	}
}
