package upstreamerrors_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// echoUpgrade is an upstream that accepts a websocket-style upgrade and
// echoes bytes back over the hijacked connection.
func echoUpgrade(t *testing.T) string {
	return testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
		brw.Flush()
		io.Copy(conn, brw)
	}))
}

func TestWebsocketUpgrade(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+echoUpgrade(t))
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(c.URL(""), "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 101 || res.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("upgrade answered %d %v", res.StatusCode, res.Header)
	}
	for _, msg := range []string{"ping", "second frame"} {
		io.WriteString(conn, msg)
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(br, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo %q: got %q, %v", msg, buf, err)
		}
	}
}

// h2cClient speaks HTTP/2 without TLS (prior knowledge).
func h2cClient() *http.Client {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

func TestHTTP2(t *testing.T) {
	up := testcaddy.HTTPServer(t, legacyPages())
	c := testcaddy.StartCaddyfile(t, `handle_path /dead/* {
	upstream_errors
	reverse_proxy `+testcaddy.ClosedPort(t)+`
}
handle {
	upstream_errors
	reverse_proxy `+up+`
}`, testcaddy.Options{Global: "servers {\n\tprotocols h1 h2c\n}"})
	client := h2cClient()
	defer client.CloseIdleConnections()

	res, err := client.Get(c.URL("/ok"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.ProtoMajor != 2 || res.StatusCode != 200 || !strings.Contains(string(body), "kept") {
		t.Errorf("h2c pass-through: %s %d %q", res.Proto, res.StatusCode, body)
	}

	for _, path := range []string{"/dead/x", "/status/500"} {
		t.Run(path, func(t *testing.T) {
			res, err = client.Get(c.URL(path))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(res.Body)
			res.Body.Close()
			var p testcaddy.Problem
			if res.ProtoMajor != 2 || res.StatusCode != 502 || json.Unmarshal(body, &p) != nil || p.Status != 502 {
				t.Errorf("h2c %s: %s %d %s", path, res.Proto, res.StatusCode, body)
			}
		})
	}
}

func TestHTTP2OverTLSToUpstream(t *testing.T) {
	// an HTTP/2 upstream over TLS: responses pass, a 503 is replaced
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			http.Error(w, "want h2", 400)
			return
		}
		if r.URL.Path == "/busy" {
			w.WriteHeader(503)
			return
		}
		io.WriteString(w, "over h2")
	}), ReadHeaderTimeout: time.Minute}
	srv.TLSConfig = &tls.Config{NextProtos: []string{"h2"}}
	go srv.ServeTLS(l, "testdata/leaf.crt", "testdata/leaf.key")
	t.Cleanup(func() { srv.Close() })

	c := testcaddy.StartCaddyfile(t, "upstream_errors\n"+proxyTo(l.Addr().String(), "tls_insecure_skip_verify\n\t\tversions 2"))
	res, body, _ := request(t, c, "GET", "/")
	if res.StatusCode != 200 || string(body) != "over h2" {
		t.Errorf("h2 upstream: %d %q", res.StatusCode, body)
	}
	res, body, id := request(t, c, "GET", "/busy")
	expectProblem(t, c, res, body, id, problem{status: 503, cause: "http_response_status", upstream: 503})
}

func TestEarlyHintsPassThrough(t *testing.T) {
	up := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		if r.URL.Path == "/fail" {
			w.WriteHeader(500)
			io.WriteString(w, "stack trace")
			return
		}
		io.WriteString(w, "page")
	}))
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+up)

	for path, want := range map[string]int{"/": 200, "/fail": 502} {
		t.Run(path, func(t *testing.T) {
			var hints []textproto.MIMEHeader
			trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				if code == http.StatusEarlyHints {
					hints = append(hints, h)
				}
				return nil
			}}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", c.URL(path), nil)
			res, err := c.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if len(hints) != 1 || hints[0].Get("Link") != "</app.css>; rel=preload; as=style" {
				t.Errorf("%s: early hints %v", path, hints)
			}
			if res.StatusCode != want {
				t.Errorf("%s: status %d, want %d: %s", path, res.StatusCode, want, body)
			}
			if res.Header.Get("Link") != "" {
				t.Errorf("%s: hint leaked into the final response", path)
			}
		})
	}
}
