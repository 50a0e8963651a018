package upstreamerrors_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// headElements returns the refresh delay and icon of an HTML page, each
// "" when the page has none.
func headElements(t *testing.T, page []byte) (refresh, icon string) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	attr := func(n *html.Node, key string) string {
		for _, a := range n.Attr {
			if strings.EqualFold(a.Key, key) {
				return a.Val
			}
		}
		return ""
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch {
			case n.Data == "meta" && strings.EqualFold(attr(n, "http-equiv"), "refresh"):
				refresh = attr(n, "content")
			case n.Data == "link" && attr(n, "rel") == "icon":
				icon = attr(n, "href")
			case n.Data == "script":
				t.Errorf("the page holds a script")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return refresh, icon
}

// The built-in page for a 503 reloads itself once its Retry-After has
// passed, within 5 seconds to 5 minutes; every built-in page declares an
// empty icon so a browser does not ask the dead upstream for one.
func TestBrowserPageRefreshes(t *testing.T) {
	dead := testcaddy.ClosedPort(t)
	// an upstream 503 carrying the Retry-After the test asks for
	unavailable := testcaddy.RawServer(t, func(c net.Conn, r *http.Request) {
		fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", r.Header.Get("X-Send-Retry-After"))
	})
	c := testcaddy.StartCaddyfile(t, fmt.Sprintf(`handle /unavailable {
	upstream_errors {
		status connection_refused 503
		retry_after 17
	}
	reverse_proxy %[1]s
}
handle /soon {
	upstream_errors {
		status connection_refused 503
		retry_after 1
	}
	reverse_proxy %[1]s
}
handle /refused {
	upstream_errors
	reverse_proxy %[1]s
}
handle /upstream {
	upstream_errors
	reverse_proxy %[2]s
}
handle /missing {
	error 404
}
handle_errors {
	upstream_errors
}`, dead, unavailable))

	date := time.Now().Add(2 * time.Minute).UTC().Truncate(time.Second)
	for _, tc := range []struct {
		name, path, sendRetryAfter string
		status                     int
		// refresh returns the refresh the page must have, given the
		// response; "" for none
		refresh func(res *http.Response, before, after time.Time) (lo, hi int)
	}{
		{name: "configured wait", path: "/unavailable", status: 503, refresh: same},
		{name: "short wait", path: "/soon", status: 503, refresh: fixed(5)},
		{name: "upstream's long wait", path: "/upstream", sendRetryAfter: "3600", status: 503, refresh: fixed(300)},
		{
			name: "upstream's date", path: "/upstream", sendRetryAfter: date.Format(http.TimeFormat), status: 503,
			refresh: func(_ *http.Response, before, after time.Time) (int, int) { return secondsLeft(date, before, after) },
		},
		{name: "no wait on a 502", path: "/refused", status: 502},
		{name: "the site's own 404", path: "/missing", status: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{"Accept", "text/html"}
			if tc.sendRetryAfter != "" {
				hdr = append(hdr, "X-Send-Retry-After", tc.sendRetryAfter)
			}
			before := time.Now()
			res, body, _ := request(t, c, "GET", tc.path, hdr...)
			after := time.Now()
			if res.StatusCode != tc.status || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("%d %q, want %d text/html", res.StatusCode, res.Header.Get("Content-Type"), tc.status)
			}
			refresh, icon := headElements(t, body)
			if icon != "data:," {
				t.Errorf("icon = %q, want the empty data:, URL", icon)
			}
			if tc.refresh == nil {
				if refresh != "" {
					t.Errorf("refresh %q on a page without a wait", refresh)
				}
				return
			}
			lo, hi := tc.refresh(res, before, after)
			if n, err := strconv.Atoi(refresh); err != nil || n < lo || n > hi {
				t.Errorf("refresh = %q, want %d..%d (Retry-After %q)", refresh, lo, hi, res.Header.Get("Retry-After"))
			}
		})
	}
}

// secondsLeft returns the Retry-After range a request sent between
// before and after may carry for a window ending at end: the seconds
// left, rounded up, at either instant.
func secondsLeft(end, before, after time.Time) (lo, hi int) {
	ceil := func(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }
	return ceil(end.Sub(after)), ceil(end.Sub(before))
}

// same wants the refresh to be the response's Retry-After.
func same(res *http.Response, _, _ time.Time) (int, int) {
	n, _ := strconv.Atoi(res.Header.Get("Retry-After"))
	return n, n
}

// fixed wants the refresh to be n.
func fixed(n int) func(*http.Response, time.Time, time.Time) (int, int) {
	return func(*http.Response, time.Time, time.Time) (int, int) { return n, n }
}
