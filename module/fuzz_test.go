package upstreamerrors

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"go.uber.org/zap"
	"golang.org/x/net/html"

	"github.com/caddyserver/caddy/v2"
)

// startTags counts the elements in an HTML document.
func startTags(t *testing.T, doc []byte) int {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(string(doc)))
	n := 0
	for {
		// only tags are counted
		//exhaustive:ignore
		switch z.Next() {
		case html.ErrorToken:
			return n
		case html.StartTagToken, html.SelfClosingTagToken:
			n++
		}
	}
}

// fuzzHandler has a custom template per format that uses every value and
// a request header through a placeholder.
func fuzzHandler(t *testing.T) *Handler {
	h := &Handler{Members: map[string]string{"host": "{http.request.header.X-Host}"}, logger: zap.NewNop()}
	h.memberNames = sortedMembers(h.Members)
	h.templates = map[string]*compiledTemplate{}
	for format, text := range map[string]string{
		FormatJSON: `{"s": {{.Status}}, "t": "{{.Title}}", "d": "{{.Detail}}", "i": "{{.Instance}}", "r": "{{.RequestID}}", "h": "{http.request.header.X-Host}", "a": [{http.request.header.X-Host}]}`,
		FormatHTML: `<p title="{{.Instance}}">{{.Detail}}</p><a href="{{.Instance}}">{http.request.header.X-Host}</a><script>var id = "{{.RequestID}}";</script>`,
	} {
		ct, err := compileTemplate(format, &Template{Inline: text})
		if err != nil {
			t.Fatal(err)
		}
		h.templates[format] = ct
	}
	return h
}

// FuzzRender feeds arbitrary paths, request IDs and header values to every
// body: JSON bodies must stay valid JSON and HTML bodies must keep their
// element structure, so no input can inject markup or members.
func FuzzRender(f *testing.F) {
	f.Add("/orders/42", "req-1", "legacy.example")
	f.Add(`/a"b\c`, `id"}`, `"}, "x": {"`)
	f.Add("/<script>alert(1)</script>", "<b>", "</p><script>")
	f.Add("/\u2028\u2029", "\x00", "\xff\xfe")
	f.Add("/{http.request.header.Authorization}", "{{.Status}}", "{env.HOME}")
	f.Fuzz(func(t *testing.T, path, id, host string) {
		h := fuzzHandler(t)
		repl := caddy.NewReplacer()
		r := &http.Request{URL: &url.URL{Path: path, RawPath: ""}, Header: http.Header{"X-Host": {host}}}
		repl.Map(func(key string) (any, bool) {
			if key == "http.request.header.X-Host" {
				return r.Header.Get("X-Host"), true
			}
			return nil, false
		})
		v := bodyValues{
			Status: 502, Title: "Bad Gateway", Detail: causes[causeConnectionRefused].Detail,
			Cause: causeConnectionRefused, Class: "5xx", Type: DefaultType,
			Instance: r.URL.EscapedPath(), RequestID: id,
		}
		for _, custom := range []bool{false, true} {
			if !custom {
				h.templates = nil
			} else {
				h = fuzzHandler(t)
			}
			for _, format := range []string{FormatProblem, FormatJSON} {
				out := h.render(nil, format, v, repl)
				var m map[string]any
				if err := json.Unmarshal(out, &m); err != nil {
					t.Fatalf("custom=%v %s body is not JSON: %v\n%s", custom, format, err, out)
				}
				// each value round-trips only if it is valid UTF-8 on its
				// own: two invalid halves can join into a valid string
				valid := utf8.ValidString(id) && utf8.ValidString(host)
				if !custom && valid && (m["instance"] != v.Instance || m["request_id"] != nilIfEmpty(id) || m["host"] != host) {
					t.Fatalf("values did not round-trip: %s", out)
				}
				if len(m) > 10 {
					t.Fatalf("injected members: %s", out)
				}
				// the unquoted placeholder is one value or none
				if a, ok := m["a"].([]any); ok && (len(a) > 1 || len(m) != 7) {
					t.Fatalf("custom=%v %s: the header reshaped the body: %s", custom, format, out)
				}
			}
			// the reference has a request ID only when v has one: the
			// built-in page leaves out the element that shows it
			benign := v
			benign.Instance = "/x"
			if v.RequestID != "" {
				benign.RequestID = "x"
			}
			plain := caddy.NewReplacer()
			want := startTags(t, h.render(nil, FormatHTML, benign, plain))
			if got := startTags(t, h.render(nil, FormatHTML, v, repl)); got != want {
				t.Fatalf("custom=%v HTML has %d elements, want %d: markup was injected", custom, got, want)
			}
			if out := h.render(nil, FormatText, v, repl); strings.ContainsAny(string(out[:len(out)-1]), "\r\x00") {
				t.Fatalf("text body carries control characters: %q", out)
			}
		}
	})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// FuzzNegotiate checks that any Accept fields pick a known format, that
// several field lines mean the same as one joined with commas, and that
// repeating the ranges changes nothing.
func FuzzNegotiate(f *testing.F) {
	f.Add("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "")
	f.Add("application/json;q=0.5, text/plain", "text/html;q=0")
	f.Add(";;q=,*/*;q=0", "application/*;q=0.001")
	f.Add(`text/html;charset="a;q=0"`, `image/png;x=", application/json"`)
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, def := range []string{FormatProblem, FormatHTML} {
			got := negotiate([]string{a, b}, def)
			if !validFormat(got) {
				t.Fatalf("negotiate(%q, %q) = %q", a, b, got)
			}
			if strings.ContainsRune(a, '"') {
				// an unclosed quote would swallow what follows
				continue
			}
			if joined := negotiate([]string{a + "," + b}, def); joined != got {
				t.Fatalf("field lines %q, %q pick %s; joined they pick %s", a, b, got, joined)
			}
			if twice := negotiate([]string{a, a, b}, def); twice != got {
				t.Fatalf("repeating %q changes %s to %s", a, got, twice)
			}
		}
	})
}
