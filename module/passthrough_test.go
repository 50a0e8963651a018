package upstreamerrors_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// legacyPages serves fixed pages with telltale headers.
func legacyPages() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Powered-By", "PHP/5.3.3")
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		w.Header().Set("Set-Cookie", "PHPSESSID=abc; path=/")
		io.WriteString(w, "<html>\x00\xff bytes \r\n kept</html>")
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(404)
		io.WriteString(w, "<h1>Not Found</h1> the legacy 404 page")
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(r.PathValue("code"), &code)
		w.Header().Set("Server", "Apache/2.2.15 (CentOS)")
		w.Header().Set("X-Powered-By", "PHP/5.3.3")
		w.Header().Set("X-Upstream-Secret", "10.1.2.3")
		w.Header().Set("Via", "1.0 legacy-lb.internal")
		w.Header().Set("Set-Cookie", "PHPSESSID=abc")
		if r.URL.Query().Get("retry") != "" {
			w.Header().Set("Retry-After", r.URL.Query().Get("retry"))
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		io.WriteString(w, "<html><pre>Traceback (most recent call last):\n  File \"/srv/app.py\", line 3\nException: db at 10.1.2.3 down</pre></html>")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
		for range 256 { // 16 MiB
			w.Write(chunk)
		}
	})
	return mux
}

func TestPassThroughByteForByte(t *testing.T) {
	up := testcaddy.HTTPServer(t, legacyPages())
	// the same upstream through a bare reverse_proxy shows what stock
	// Caddy sends; the module must send exactly that
	c := testcaddy.StartCaddyfile(t, `handle_path /bare/* {
	reverse_proxy `+up+`
}
handle {
	upstream_errors
	reverse_proxy `+up+`
}`)

	for _, path := range []string{"/ok", "/missing", "/redirect", "/status/418"} {
		t.Run(path, func(t *testing.T) {
			direct, err := c.Client.Get("http://" + up + path)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := io.ReadAll(direct.Body)
			direct.Body.Close()
			bare, _, _ := request(t, c, "GET", "/bare"+path)

			res, got, id := request(t, c, "GET", path)
			if res.StatusCode != direct.StatusCode {
				t.Errorf("status %d, want %d", res.StatusCode, direct.StatusCode)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("body %q, want %q", got, want)
			}
			// nothing removed from the upstream's fields but hop-by-hop ones
			for k := range direct.Header {
				if k == "Date" || hopByHop[k] {
					continue
				}
				// the proxy adds its own Via after the upstream's values
				for _, v := range direct.Header[k] {
					if !slices.Contains(res.Header[k], v) {
						t.Errorf("header %s = %q, want the upstream's %q in it", k, res.Header[k], direct.Header[k])
					}
				}
			}
			// nothing added or changed beyond what the proxy itself sends
			for k := range res.Header {
				if k == "Date" {
					continue
				}
				if !slices.Equal(res.Header[k], bare.Header[k]) {
					t.Errorf("header %s = %q; stock reverse_proxy sends %q", k, res.Header[k], bare.Header[k])
				}
			}
			for k := range bare.Header {
				if _, ok := res.Header[k]; !ok {
					t.Errorf("header %s missing; stock reverse_proxy sends %q", k, bare.Header[k])
				}
			}
			if v := res.Header.Values("Proxy-Status"); len(v) != 0 {
				t.Errorf("Proxy-Status %q on a passed-through response", v)
			}
			if n := len(c.ModuleEntries(id)); n != 0 {
				t.Errorf("passed-through response logged %d entries", n)
			}
		})
	}
}

// hopByHop are the fields a proxy drops by definition.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
}

func TestLargeDownloadStreams(t *testing.T) {
	up := testcaddy.HTTPServer(t, legacyPages())
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+up)
	res, err := c.Client.Get(c.URL("/big"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, res.Body)
	if err != nil || n != 16<<20 {
		t.Fatalf("read %d bytes, err %v", n, err)
	}
	want := sha256.New()
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for range 256 {
		want.Write(chunk)
	}
	if !bytes.Equal(h.Sum(nil), want.Sum(nil)) {
		t.Error("download differs from the upstream's")
	}
}

func TestServerSentEventsStream(t *testing.T) {
	release := make(chan struct{})
	up := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		// the stream stays open until the client has seen the first event,
		// so a buffered response could never reach it
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "data: second\n\n")
	}))
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+up)
	res, err := c.Client.Get(c.URL("/events"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	first := make(chan string, 1)
	br := bufio.NewReader(res.Body)
	go func() {
		line, _ := br.ReadString('\n')
		first <- line
	}()
	select {
	case line := <-first:
		if line != "data: first\n" {
			t.Fatalf("first line %q", line)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("first event never arrived while the stream was open: the response is buffered")
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if string(rest) != "\ndata: second\n\n" {
		t.Errorf("rest of stream %q", rest)
	}
}

func TestUpstreamErrorStatuses(t *testing.T) {
	up := testcaddy.HTTPServer(t, legacyPages())
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+up)
	for _, tc := range []struct {
		upstream, want int
	}{
		{500, 502}, {501, 502}, {502, 502}, {503, 503}, {504, 504}, {507, 502}, {599, 502},
	} {
		t.Run(fmt.Sprint(tc.upstream), func(t *testing.T) {
			res, body, id := request(t, c, "GET", fmt.Sprintf("/status/%d", tc.upstream))
			expectProblem(t, c, res, body, id, problem{status: tc.want, cause: "http_response_status", upstream: tc.upstream})
			if strings.Contains(string(body), "Traceback") || strings.Contains(string(body), "10.1.2.3") {
				t.Errorf("%d: upstream body leaked: %s", tc.upstream, body)
			}
		})
	}
}

func TestUpstreamRetryAfterIsKept(t *testing.T) {
	up := testcaddy.HTTPServer(t, legacyPages())
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+up)

	res, body, id := request(t, c, "GET", "/status/503?retry=120")
	expectProblem(t, c, res, body, id, problem{status: 503, cause: "http_response_status", upstream: 503})
	if got := res.Header.Get("Retry-After"); got != "120" {
		t.Errorf("Retry-After = %q, want the upstream's 120", got)
	}

	res, body, id = request(t, c, "GET", "/status/503")
	expectProblem(t, c, res, body, id, problem{status: 503, cause: "http_response_status", upstream: 503})
	if got := res.Header.Get("Retry-After"); got != "10" {
		t.Errorf("Retry-After = %q, want the default 10", got)
	}
}

func TestHeadersSetBeforeTheProxySurvive(t *testing.T) {
	up := testcaddy.HTTPServer(t, legacyPages())
	c := testcaddy.StartCaddyfile(t, `header X-Frame-Options DENY
upstream_errors
reverse_proxy `+up)
	res, body, id := request(t, c, "GET", "/status/500")
	expectProblem(t, c, res, body, id, problem{status: 502, cause: "http_response_status", upstream: 500})
	if got := res.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q, want the site's own DENY", got)
	}
}

// TestSiteViaAndVaryAreExtended checks that a replaced upstream response
// keeps the Via and Vary values the site set before the proxy ran and
// adds to them, never over them: the proxy's own Via element after the
// site's, and Accept, which the answer's format depends on, after the
// site's Vary.
func TestSiteViaAndVaryAreExtended(t *testing.T) {
	up := testcaddy.HTTPServer(t, legacyPages())
	c := testcaddy.StartCaddyfile(t, `header Via "1.0 edge"
header Vary Origin
upstream_errors
reverse_proxy `+up)
	res, _, _ := request(t, c, "GET", "/status/500")
	if res.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want the upstream's 500 replaced by 502", res.StatusCode)
	}
	if got := res.Header.Values("Via"); !slices.Equal(got, []string{"1.0 edge", "1.1 Caddy"}) {
		t.Errorf("Via = %q, want the site's element, then the proxy's", got)
	}
	if got := res.Header.Values("Vary"); !slices.Equal(got, []string{"Origin", "Accept"}) {
		t.Errorf("Vary = %q, want the site's Origin, then Accept", got)
	}
}
