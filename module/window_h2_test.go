package upstreamerrors_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/window"
	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// Over HTTP/2 a client that resets a held request frees its place at
// once, though it was still sending a body: the stream's reset cancels
// the request, where HTTP/1.1 tells nothing until the body is read.
func TestWindowHoldClientResetsWithBody(t *testing.T) {
	store, opts := windowStorage(t)
	up, hits := countingUpstream(t)
	setWindow(t, store, "shop", window.State{On: true})
	opts.Global += "\nservers {\n\tprotocols h1 h2c\n}"
	c := testcaddy.StartCaddyfile(t, fmt.Sprintf("upstream_errors {\n\tmaintenance {\n\t\twindow shop\n\t\thold 1m\n\t\tbypass /healthz\n\t}\n}\nreverse_proxy %s", up), opts)

	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: protocols}}
	t.Cleanup(client.CloseIdleConnections)
	res, err := client.Get(c.URL("/healthz"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 {
		t.Fatalf("the client speaks %s, want HTTP/2", res.Proto)
	}
	hits.Store(0)

	body, sending := io.Pipe()
	defer sending.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", c.URL("/orders"), body)
	if err != nil {
		t.Fatal(err)
	}
	const id = "held-post-reset"
	req.Header.Set("X-Request-ID", id)
	done := make(chan error, 1)
	go func() {
		res, err := client.Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	// part of the body, the rest never comes
	go func() { _, _ = sending.Write([]byte(`{"order": `)) }()
	eventually(t, "holding the request", func() bool { return upstreamerrors.HeldRequests() == 1 })
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the request was answered during the window")
	}
	// well within the minute's hold
	eventually(t, "the slot freed", func() bool { return upstreamerrors.HeldRequests() == 0 })
	entries := c.WaitEntries(id, 5*time.Second)
	if len(entries) != 1 || entries[0]["cause"] != "client_canceled" {
		t.Errorf("log entries %v, want one client error with cause client_canceled", entries)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the upstream got %d requests during the window", n)
	}
}
