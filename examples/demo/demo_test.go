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

	"github.com/caddyserver/caddy/v2"
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

// TestDemoAddressTaken runs the demo with its site's or its admin
// endpoint's address already taken, as when 8080 or 2019 is in use, and
// expects an error naming the address and the variables that move it.
func TestDemoAddressTaken(t *testing.T) {
	const hint = "choose free addresses with DEMO_ADDR (the site) and DEMO_ADMIN (the admin endpoint, or off), as in\n\n\tDEMO_ADDR=127.0.0.1:9080 DEMO_ADMIN=127.0.0.1:2099 go run ./examples/demo"
	for _, tc := range []struct {
		name string
		// listen holds an address the way another program would
		listen func(t *testing.T) string
	}{
		{"plain listener", hold},
		{"Caddy's listener, which shares its port", holdCaddy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			taken := tc.listen(t)
			for _, c := range []struct{ addr, admin, want string }{
				{taken, freeAddr(t), "the site's address " + taken + " (DEMO_ADDR) is already in use, by another program or a demo still running; " + hint},
				{freeAddr(t), taken, "the admin endpoint's address " + taken + " (DEMO_ADMIN) is already in use, by another program or a demo still running; " + hint},
			} {
				t.Setenv("DEMO_ADDR", c.addr)
				t.Setenv("DEMO_ADMIN", c.admin)
				var out syncBuffer
				// bounded: a demo that starts anyway serves until ctx ends
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := run(ctx, &out)
				cancel()
				if err == nil || err.Error() != c.want {
					t.Errorf("DEMO_ADDR=%s DEMO_ADMIN=%s:\n got %v\nwant %s", c.addr, c.admin, err, c.want)
				}
				if out.String() != "" {
					t.Errorf("printed before failing:\n%s", out.String())
				}
			}
		})
	}
}

// hold listens on a free loopback port until the test ends.
func hold(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

// holdCaddy listens on a free loopback port the way Caddy does, with
// SO_REUSEPORT where it is supported, until the test ends: as an earlier
// demo still running would.
func holdCaddy(t *testing.T) string {
	t.Helper()
	na, err := caddy.ParseNetworkAddress(freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := na.Listen(context.Background(), 0, net.ListenConfig{})
	if err != nil {
		t.Fatal(err)
	}
	l := ln.(net.Listener)
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}
