package upstreamerrors

import (
	"bytes"
	"encoding/json"
	htmltemplate "html/template"
	"io"
	"slices"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/textsafe"
)

// bodyValues are the values a body is rendered from.
type bodyValues struct {
	Status    int
	Title     string
	Detail    string
	Cause     string
	Class     string
	Type      string
	Instance  string
	RequestID string

	// Refresh is the seconds after which the built-in page reloads
	// itself; 0 for none.
	Refresh int
}

// escaped returns v with every string passed through esc.
func (v bodyValues) escaped(esc func(string) string) bodyValues {
	v.Title, v.Detail, v.Cause, v.Class = esc(v.Title), esc(v.Detail), esc(v.Cause), esc(v.Class)
	v.Type, v.Instance, v.RequestID = esc(v.Type), esc(v.Instance), esc(v.RequestID)
	return v
}

// standardMembers are the problem members the module writes itself.
var standardMembers = []string{"type", "title", "status", "detail", "instance", "cause", "request_id"}

// render returns the body for format, appended to dst for the built-in
// JSON and HTML bodies; a text or custom body has a buffer of its own. A
// custom template that fails at request time (a placeholder that cannot
// be read, say) falls back to the built-in body rather than sending a
// broken one.
func (h *Handler) render(dst []byte, format string, v bodyValues, repl *caddy.Replacer) []byte {
	if ct := h.templates[format]; ct != nil {
		out, err := ct.render(v, repl)
		switch {
		case err != nil:
			h.logger.Error("rendering custom body; using the built-in one", zap.String("format", format), zap.Error(err))
		case (format == FormatProblem || format == FormatJSON) && !h.jsonKeepsShape(ct, out, v, repl):
			// a value outside a JSON string broke or reshaped the body
			h.logger.Error("custom body is not the template's JSON with these values; using the built-in one",
				zap.String("format", format), zap.Int("status", v.Status))
		default:
			return out
		}
	}
	switch format {
	case FormatHTML:
		return appendHTMLBody(dst, h.bodyParts(&v), &v)
	case FormatText:
		return renderText(v)
	}
	return h.renderJSON(dst, v, repl)
}

// renderJSON appends the RFC 9457 object, then any configured members.
func (h *Handler) renderJSON(dst []byte, v bodyValues, repl *caddy.Replacer) []byte {
	member := func(name string) string {
		value := h.Members[name]
		if repl != nil {
			value = repl.ReplaceKnown(value, "")
		}
		return value
	}
	return h.appendJSONBody(dst, h.bodyParts(&v), &v, member)
}

// bodyBuffers recycles the buffers bodies are rendered into: Write
// copies a body on its way to the client (an io.Writer must not keep it),
// so a buffer is free again once respond returns.
var bodyBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 512) // a problem+json body with a request ID fits
	return &b
}}

// maxPooledBody bounds the buffers kept for reuse, so one large custom
// body does not stay in memory for every later one.
const maxPooledBody = 16 << 10

// recycleBody returns body's buffer to bodyBuffers through buf.
func recycleBody(buf *[]byte, body []byte) {
	if cap(body) > maxPooledBody {
		return
	}
	*buf = body[:0]
	bodyBuffers.Put(buf)
}

// jsonKeepsShape reports whether out, a custom JSON body, is valid JSON
// with the structure the template has when every non-empty value from the
// request (the path, the request ID, every placeholder) is the benign "0":
// the same objects, arrays and members, each scalar of the same kind. A
// value inside a JSON string is escaped and stays a string; one written
// outside quotes is only accepted while it stays one scalar of the kind
// "0" gives (a number), so `1,2` cannot add elements and
// `javascript:alert(1)` cannot break the document. Empty values stay
// empty in the reference, so {{if .RequestID}} sections keep their shape.
func (h *Handler) jsonKeepsShape(ct *compiledTemplate, out []byte, v bodyValues, repl *caddy.Replacer) bool {
	if !json.Valid(out) {
		return false
	}
	benign := func(s string) string {
		if s == "" {
			return ""
		}
		return "0"
	}
	refRepl := caddy.NewEmptyReplacer()
	refRepl.Map(func(key string) (any, bool) {
		if repl == nil {
			return "", true
		}
		s, _ := repl.GetString(key)
		return benign(s), true
	})
	// the module's own values stay, so {{if eq .Cause ...}} sections
	// render alike; the request's and the placeholders' become benign
	refV := v
	refV.Instance, refV.RequestID = benign(v.Instance), benign(v.RequestID)
	ref, err := ct.render(refV, refRepl)
	if err != nil || !json.Valid(ref) {
		return false
	}
	return sameJSONShape(out, ref)
}

// sameJSONShape reports whether two valid JSON documents have the same
// token structure: equal delimiters, and scalars of the same kind.
func sameJSONShape(a, b []byte) bool {
	da, db := json.NewDecoder(bytes.NewReader(a)), json.NewDecoder(bytes.NewReader(b))
	da.UseNumber()
	db.UseNumber()
	for {
		ta, errA := da.Token()
		tb, errB := db.Token()
		if errA != nil || errB != nil {
			return errA == io.EOF && errB == io.EOF
		}
		if kind(ta) != kind(tb) {
			return false
		}
		if d, ok := ta.(json.Delim); ok && d != tb.(json.Delim) {
			return false
		}
	}
}

// kind names a JSON token's kind.
func kind(t json.Token) int {
	switch t.(type) {
	case json.Delim:
		return 1
	case string:
		return 2
	case json.Number:
		return 3
	case bool:
		return 4
	}
	return 0 // null
}

// sortedMembers returns the configured member names in a stable order.
func sortedMembers(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// htmlPage is the built-in page for browsers: self-contained, no scripts,
// no external resources. Its empty icon keeps a browser from asking for
// /favicon.ico, which on a dead upstream would be a second failure, logged
// and counted, for every page view.
var htmlPage = htmltemplate.Must(htmltemplate.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>{{.Status}} {{.Title}}</title>
<style>
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f8fa;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{max-width:34rem;margin:1.5rem;padding:2rem 2.25rem;background:#fff;border:1px solid #d0d7de;border-radius:12px}
h1{margin:0 0 .5rem;font-size:1.5rem}
.code{color:#cf222e;font-variant-numeric:tabular-nums}
p{margin:.5rem 0}
small{display:block;margin-top:1.5rem;color:#656d76;font-size:.8rem;word-break:break-all}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}main{background:#161b22;border-color:#30363d}small{color:#8d96a0}.code{color:#ff7b72}}
</style>
</head>
<body>
<main>
<h1><span class="code">{{.Status}}</span> {{.Title}}</h1>
<p>{{.Detail}}</p>
{{if or (ge .Status 500) (eq .Status 408 429)}}<p>Please try again in a moment.</p>{{end}}
{{if .RequestID}}<small>Request ID: {{.RequestID}}</small>{{end}}
</main>
</body>
</html>
`))

func renderHTML(v bodyValues) []byte {
	var buf bytes.Buffer
	if err := htmlPage.Execute(&buf, v); err != nil {
		return []byte(htmltemplate.HTMLEscapeString(v.Title))
	}
	return buf.Bytes()
}

func renderText(v bodyValues) []byte {
	v = v.escaped(textsafe.StripControl)
	var b strings.Builder
	b.WriteString(statusText(v.Status))
	b.WriteByte(' ')
	b.WriteString(v.Title)
	b.WriteByte('\n')
	b.WriteString(v.Detail)
	b.WriteByte('\n')
	if v.RequestID != "" {
		b.WriteString("Request ID: ")
		b.WriteString(v.RequestID)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}
