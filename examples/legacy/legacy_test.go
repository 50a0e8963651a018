package legacy_test

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/examples/legacy"
)

func start(t *testing.T) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(legacy.New())
	t.Cleanup(srv.Close)
	// no keep-alive, so a hijacked connection is never reused
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true},
	}
	return srv, client
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func TestPages(t *testing.T) {
	srv, c := start(t)
	for _, tc := range []struct {
		path   string
		status int
		header map[string]string
		inBody string
	}{
		{path: "/", status: 200, inBody: "Legacy App"},
		{path: "/ok", status: 200, inBody: "Legacy App"},
		{path: "/error", status: 500, inBody: "Fatal error", header: map[string]string{
			"Server":       "Apache/2.2.15 (CentOS)",
			"X-Powered-By": "PHP/5.3.3",
			"Content-Type": "text/html; charset=utf-8",
		}},
		{path: "/unavailable", status: 503, inBody: "maintenance", header: map[string]string{"Retry-After": "120"}},
		{path: "/notfound", status: 404, inBody: "Not Found"},
		{path: "/no/such/page", status: 404, inBody: "Not Found"},
		{path: "/health", status: 200, inBody: "ok"},
		{path: "/login", status: 401, inBody: "Authorization Required", header: map[string]string{"WWW-Authenticate": `Basic realm="Legacy App"`}},
		{path: "/submit", status: 405, inBody: "Method Not Allowed", header: map[string]string{"Allow": "POST"}},
		{path: "/limit", status: 429, inBody: "Too Many Requests", header: map[string]string{"Retry-After": "30"}},
		{path: "/validate", status: 422, inBody: `"field":"quantity"`, header: map[string]string{"Content-Type": "application/problem+json"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body := get(t, c, srv.URL+tc.path)
			if res.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", res.StatusCode, tc.status)
			}
			for k, v := range tc.header {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(strings.ToLower(body), strings.ToLower(tc.inBody)) {
				t.Errorf("body lacks %q:\n%s", tc.inBody, body)
			}
		})
	}
}

func TestErrorLeaksAStackTrace(t *testing.T) {
	srv, c := start(t)
	_, body := get(t, c, srv.URL+"/error")
	for _, s := range []string{"Fatal error", "#0 /var/www/html/lib/db.php", "{main}"} {
		if !strings.Contains(body, s) {
			t.Errorf("body lacks %q", s)
		}
	}
}

func TestTimeout(t *testing.T) {
	srv, c := start(t)
	res, _ := get(t, c, srv.URL+"/timeout?ms=200")
	if res.StatusCode != 200 {
		t.Errorf("status = %d", res.StatusCode)
	}
}

func TestTimeoutStopsWhenClientLeaves(t *testing.T) {
	srv, _ := start(t)
	c := &http.Client{Timeout: 100 * time.Millisecond}
	if _, err := c.Get(srv.URL + "/timeout?ms=60000"); err == nil {
		t.Fatal("want a client timeout")
	}
	// srv.Close waits for the handler, which must stop well before its minute
	closed := make(chan struct{})
	go func() {
		srv.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Error("handler kept sleeping after the client left")
	}
}

func TestReset(t *testing.T) {
	srv, c := start(t)
	_, err := c.Get(srv.URL + "/reset")
	if err == nil {
		t.Fatal("want an error")
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("err = %v, want connection reset", err)
	}
}

func TestGarbage(t *testing.T) {
	srv, c := start(t)
	_, err := c.Get(srv.URL + "/garbage")
	if err == nil || !strings.Contains(err.Error(), "malformed HTTP") {
		t.Errorf("err = %v, want a malformed HTTP response", err)
	}
}

func TestSSE(t *testing.T) {
	srv, c := start(t)
	res, err := c.Get(srv.URL + "/sse?n=3&ms=10")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	sc := bufio.NewScanner(res.Body)
	var events int
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") {
			events++
		}
	}
	if events != 3 {
		t.Errorf("got %d events, want 3", events)
	}
}

func TestSSEFlushesEachEvent(t *testing.T) {
	srv, c := start(t)
	// the next event is a minute away, longer than the client waits: the
	// first can only arrive if it was flushed on its own
	res, err := c.Get(srv.URL + "/sse?n=2&ms=60000")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("%v: the first event was not flushed", err)
		}
		if strings.HasPrefix(line, "data: ") {
			return
		}
	}
}

func TestBig(t *testing.T) {
	srv, c := start(t)
	res, err := c.Get(srv.URL + "/big?mb=2")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2<<20 || res.ContentLength != 2<<20 {
		t.Errorf("read %d bytes, Content-Length %d; want %d", n, res.ContentLength, 2<<20)
	}
}

func TestHealthFollowsAdmin(t *testing.T) {
	srv, c := start(t)
	for _, step := range []struct {
		path   string
		health int
	}{
		{"/admin/down", 503},
		{"/admin/down", 503},
		{"/admin/up", 200},
	} {
		if res, _ := get(t, c, srv.URL+step.path); res.StatusCode != 200 {
			t.Fatalf("%s: status %d", step.path, res.StatusCode)
		}
		if res, _ := get(t, c, srv.URL+"/health"); res.StatusCode != step.health {
			t.Errorf("after %s: /health = %d, want %d", step.path, res.StatusCode, step.health)
		}
		// only /health tells
		if res, _ := get(t, c, srv.URL+"/ok"); res.StatusCode != 200 {
			t.Errorf("after %s: /ok = %d", step.path, res.StatusCode)
		}
	}
}

func TestListen(t *testing.T) {
	s, err := legacy.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := http.Get("http://" + s.Addr + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("status = %d", res.StatusCode)
	}
}
