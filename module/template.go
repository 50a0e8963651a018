package upstreamerrors

import (
	"bytes"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"io"
	"os"
	"regexp"
	"strings"
	texttemplate "text/template"

	"github.com/caddyserver/caddy/v2"
)

// Template is a user-supplied body for one format. Caddy placeholders
// (such as `{http.request.host}` or `{http.upstream_errors.detail}`) and
// Go template actions on the values (`{{.Status}}`, `{{.Title}}`,
// `{{.Detail}}`, `{{.Cause}}`, `{{.Class}}`, `{{.RequestID}}`,
// `{{.Instance}}`, `{{.Type}}`) are both available. Every value is escaped
// for the format: JSON string content for `problem` and `json` (write
// `"{{.Detail}}"`, quotes included), HTML for `html`, control characters
// removed for `text`.
type Template struct {
	// The template text.
	Inline string `json:"inline,omitempty"`

	// A file to read the template from when the config loads.
	File string `json:"file,omitempty"`
}

// executor is a parsed text or HTML template.
type executor interface {
	Execute(w io.Writer, data any) error
}

// placeholderRE matches Caddy placeholders in a template's text. A key
// needs a dot, so JSON objects and CSS rules are not mistaken for one.
var placeholderRE = regexp.MustCompile(`\{([A-Za-z][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]+)+)\}`)

// compiledTemplate renders one format's custom body.
type compiledTemplate struct {
	format string
	tmpl   executor
}

// compileTemplate reads and parses t for format, then renders it once with
// hostile sample values so an invalid template fails at load, not on the
// first outage.
func compileTemplate(format string, t *Template) (*compiledTemplate, error) {
	text := t.Inline
	if t.File != "" {
		if t.Inline != "" {
			return nil, fmt.Errorf("template %s: set inline or file, not both", format)
		}
		b, err := os.ReadFile(t.File)
		if err != nil {
			return nil, fmt.Errorf("template %s: %v", format, err)
		}
		text = string(b)
	}
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("template %s: empty", format)
	}
	// Caddy placeholders become template calls so their values are
	// escaped like every other value
	text = placeholderRE.ReplaceAllString(text, `{{placeholder "$1"}}`)

	ct := &compiledTemplate{format: format}
	funcs := map[string]any{"placeholder": func(string) string { return "" }}
	var err error
	if format == FormatHTML {
		ct.tmpl, err = htmltemplate.New(format).Option("missingkey=error").Funcs(funcs).Parse(text)
	} else {
		ct.tmpl, err = texttemplate.New(format).Option("missingkey=error").Funcs(funcs).Parse(text)
	}
	if err != nil {
		return nil, fmt.Errorf("template %s: %v", format, err)
	}

	sample := bodyValues{
		Status: 502, Title: `Bad "Gateway" <&>`, Detail: "a\nb\\c\"d</script>", Cause: "x",
		Class: "5xx", Type: "about:blank", Instance: `/p"a<t>h\`, RequestID: "id",
	}
	repl := caddy.NewReplacer()
	repl.Set("sample", "\"\\\n<>")
	out, err := ct.render(sample, repl)
	if err != nil {
		return nil, fmt.Errorf("template %s: %v", format, err)
	}
	if (format == FormatProblem || format == FormatJSON) && !json.Valid(out) {
		return nil, fmt.Errorf("template %s: does not render valid JSON: %s", format, out)
	}
	return ct, nil
}

// render executes the template with values escaped for its format.
func (ct *compiledTemplate) render(v bodyValues, repl *caddy.Replacer) ([]byte, error) {
	esc := escaperFor(ct.format)
	data := v.escaped(esc)
	placeholder := func(key string) string {
		s, _ := repl.GetString(key)
		return esc(s)
	}
	var tmpl executor
	switch t := ct.tmpl.(type) {
	case *htmltemplate.Template:
		c, err := t.Clone()
		if err != nil {
			return nil, err
		}
		tmpl = c.Funcs(htmltemplate.FuncMap{"placeholder": placeholder})
	case *texttemplate.Template:
		c, err := t.Clone()
		if err != nil {
			return nil, err
		}
		tmpl = c.Funcs(texttemplate.FuncMap{"placeholder": placeholder})
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// escaperFor returns how values are escaped in format. HTML templates
// escape in context themselves.
func escaperFor(format string) func(string) string {
	switch format {
	case FormatProblem, FormatJSON:
		return jsonStringContent
	case FormatText:
		return stripControl
	}
	return func(s string) string { return s }
}

// jsonStringContent escapes s for use between the quotes of a JSON string.
func jsonStringContent(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
