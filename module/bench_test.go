package upstreamerrors_test

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// Each benchmark runs its baseline route ("bare" reverse_proxy, or "stock"
// Caddy for an error) and its "module" route in one Caddy instance against
// the same upstream, so the two differ only by the upstream_errors handler.
// The sub-benchmarks are named route=..., for benchstat to compare:
//
//	go tool benchstat -table .config,.name -col '/route@(bare stock passon module)' bench.txt

const (
	// passSize is the body of a typical small API response.
	passSize = 1 << 10
	// errorPageSize is the upstream's own 500 page.
	errorPageSize = 1 << 10
)

const problemType = "application/problem+json"

// sideBySide is a site that proxies to up twice: bare under /bare/ and
// behind upstream_errors under /mod/.
func sideBySide(up string) string {
	return fmt.Sprintf(`
handle /bare/* {
	reverse_proxy %[1]s
}
handle /mod/* {
	upstream_errors
	reverse_proxy %[1]s
}`, up)
}

// BenchmarkPassThrough compares a response the module lets through with
// the same response from a bare reverse_proxy, with a client on every P.
func BenchmarkPassThrough(b *testing.B) {
	up := testcaddy.HTTPServer(b, fixedResponse(http.StatusOK, passSize))
	base := startBenchCaddy(b, sideBySide(up))
	c := benchClient(b)

	b.Run("route=bare", func(b *testing.B) {
		benchParallel(b, c, base+"/bare/", want{status: http.StatusOK, size: passSize})
	})
	b.Run("route=module", func(b *testing.B) {
		benchParallel(b, c, base+"/mod/", want{status: http.StatusOK, size: passSize})
	})
}

// BenchmarkErrorPath compares the module's normalized responses with stock
// Caddy's own error for the same failure: the empty 502 it answers for an
// upstream that refuses the connection, and for an upstream 500 page the
// empty 502 of the stock way to replace one (handle_response with error;
// see stockReplace). route=passon is stock passing that page on untouched,
// what a site without either pays.
func BenchmarkErrorPath(b *testing.B) {
	closed := testcaddy.ClosedPort(b)
	up := testcaddy.HTTPServer(b, fixedResponse(http.StatusInternalServerError, errorPageSize))
	base := startBenchCaddy(b, fmt.Sprintf(`
handle /refused/stock {
	reverse_proxy %[1]s
}
handle /refused/mod {
	upstream_errors
	reverse_proxy %[1]s
}
handle /500/stock {
	%[3]s
}
handle /500/passon {
	reverse_proxy %[2]s
}
handle /500/mod {
	upstream_errors
	reverse_proxy %[2]s
}`, closed, up, stockReplace(up)))
	c := benchClient(b)
	normalized := want{status: http.StatusBadGateway, size: -1, contentType: problemType}
	stockError := want{status: http.StatusBadGateway, size: 0}

	b.Run("cause=refused/route=stock", func(b *testing.B) {
		benchParallel(b, c, base+"/refused/stock", stockError)
	})
	b.Run("cause=refused/route=module", func(b *testing.B) {
		benchParallel(b, c, base+"/refused/mod", normalized)
	})
	b.Run("cause=status_500/route=stock", func(b *testing.B) {
		benchParallel(b, c, base+"/500/stock", stockError)
	})
	b.Run("cause=status_500/route=module", func(b *testing.B) {
		benchParallel(b, c, base+"/500/mod", normalized)
	})
	b.Run("cause=status_500/route=passon", func(b *testing.B) {
		benchParallel(b, c, base+"/500/passon", want{status: http.StatusInternalServerError, size: errorPageSize})
	})
}

// stockReplace is how a stock Caddy site turns an upstream's 5xx page into
// its own error: reverse_proxy hands the response to a handle_response
// route whose error directive ends the request, and the server logs that
// error and answers an empty 502. Caddy closes the page unread, so each
// one costs stock a new upstream connection; the module drains it and
// keeps the connection. (intercept with error is no alternative: its reply
// keeps the upstream's Content-Length over an empty body.)
func stockReplace(up string) string {
	return fmt.Sprintf(`reverse_proxy %s {
		@page status 5xx
		handle_response @page {
			error 502
		}
	}`, up)
}

// BenchmarkInterceptedMemory measures the memory allocated per upstream
// 500 whose page is as large as the default discard_limit (64 KiB), and
// sixteen times larger: the page intercepted (drained, or the connection
// dropped past the limit, and replaced) by the module, or passed on by
// stock Caddy (route=passon). B/op counts the whole process: client, Caddy and
// upstream alike, so only the difference between the routes is the
// module's. The module never buffers the body, so its cost should not
// follow the body's size.
func BenchmarkInterceptedMemory(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"64KiB", 64 << 10}, {"1MiB", 1 << 20}} {
		b.Run("body="+size.name, func(b *testing.B) {
			up := testcaddy.HTTPServer(b, fixedResponse(http.StatusInternalServerError, size.n))
			base := startBenchCaddy(b, sideBySide(up))
			c := benchClient(b)

			b.Run("route=passon", func(b *testing.B) {
				benchSerial(b, c, base+"/bare/", want{status: http.StatusInternalServerError, size: size.n})
			})
			b.Run("route=module", func(b *testing.B) {
				benchSerial(b, c, base+"/mod/", want{status: http.StatusBadGateway, size: -1, contentType: problemType})
			})
		})
	}
}

// want is the response a benchmark expects on every request.
type want struct {
	status int
	// size is the exact body length, or -1 for any non-empty body.
	size        int
	contentType string
}

// benchParallel requests url from every P, over kept-alive connections.
func benchParallel(b *testing.B, c *http.Client, url string, w want) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := fetch(c, url, w); err != nil {
				// Fatal may only be called from the benchmark's goroutine
				b.Error(err)
				return
			}
		}
	})
}

// benchSerial requests url from one goroutine, one request at a time.
func benchSerial(b *testing.B, c *http.Client, url string, w want) {
	b.ReportAllocs()
	for b.Loop() {
		if err := fetch(c, url, w); err != nil {
			b.Fatal(err)
		}
	}
}

// fetch makes one request and checks the response against w. The body is
// read to the end so the connection is reused.
func fetch(c *http.Client, url string, w want) error {
	res, err := c.Get(url)
	if err != nil {
		return err
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil {
		return fmt.Errorf("GET %s: reading body: %v", url, err)
	}
	if res.StatusCode != w.status {
		return fmt.Errorf("GET %s: status %d, want %d", url, res.StatusCode, w.status)
	}
	if w.size >= 0 && n != int64(w.size) || w.size < 0 && n == 0 {
		return fmt.Errorf("GET %s: %d body bytes, want %d", url, n, w.size)
	}
	if w.contentType != "" && res.Header.Get("Content-Type") != w.contentType {
		return fmt.Errorf("GET %s: Content-Type %q, want %q", url, res.Header.Get("Content-Type"), w.contentType)
	}
	return nil
}

// fixedResponse answers every request with status and a body of size bytes.
func fixedResponse(status, size int) http.Handler {
	body := bytes.Repeat([]byte("x"), size)
	length := strconv.Itoa(size)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", length)
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}

// benchClient returns a client that keeps a connection per P alive, so the
// benchmarks measure requests, not TCP handshakes.
func benchClient(b *testing.B) *http.Client {
	tr := &http.Transport{
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		DisableCompression:  true,
	}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// benchLogLevel is the benchmarks' log level. FATAL keeps both sides
// from writing their error log entries, to see what the rest costs.
var benchLogLevel = flag.String("bench.loglevel", "INFO", "the benchmarks' Caddy log `level`")

// startBenchCaddy runs site, the body of a site block, and returns its base
// URL. Unlike testcaddy, which logs at DEBUG for the tests to read, it logs
// at INFO as a deployment would: reverse_proxy's per-request debug entries
// would otherwise dominate, and blur, both sides of every comparison. The
// entries left are the ones each side really writes for an error.
func startBenchCaddy(b *testing.B, site string) string {
	b.Helper()
	port := testcaddy.FreePort(b)
	logPath := filepath.Join(b.TempDir(), "caddy.log")
	cf := fmt.Sprintf(`{
	admin off
	auto_https off
	persist_config off
	log {
		output file %q
		format json
		level %s
	}
}
http://127.0.0.1:%d {
	bind 127.0.0.1
%s
}
`, logPath, *benchLogLevel, port, site)
	cfg, err := testcaddy.Adapt(string(caddyfile.Format([]byte(cf))))
	if err != nil {
		b.Fatalf("adapting Caddyfile: %v\n%s", err, cf)
	}
	if err := caddy.Load(cfg, true); err != nil {
		b.Fatalf("loading config: %v", err)
	}
	b.Cleanup(func() {
		if err := caddy.Stop(); err != nil {
			b.Errorf("stopping caddy: %v", err)
		}
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}
