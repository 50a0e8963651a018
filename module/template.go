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

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/textsafe"
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

	// A file to read the template from when the config is provisioned
	// (`caddy run`, `caddy reload`); `caddy adapt` does not read it.
	File string `json:"file,omitempty"`
}

// executor is a parsed text or HTML template.
type executor interface {
	Execute(w io.Writer, data any) error
}

// placeholderRE matches Caddy placeholders in a template's text. A key
// needs a dot, so JSON objects and CSS rules are not mistaken for one.
var placeholderRE = regexp.MustCompile(`\{([A-Za-z][A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]+)+)\}`)

// compiledTemplate renders one format's custom body. It is parsed once;
// rendering shares it between requests without cloning it.
type compiledTemplate struct {
	format string
	esc    func(string) string
	tmpl   executor
}

// templateData is what a template executes on: the body values, whose
// fields templates read (`{{.Status}}`), and the request's replacer with
// the format's escaper, which the placeholder function reads through `$`.
// The values are its own fields, not an embedded bodyValues, since looking
// up a promoted field costs the template engine allocations.
type templateData struct {
	Status    int
	Title     string
	Detail    string
	Cause     string
	Class     string
	Type      string
	Instance  string
	RequestID string

	repl *caddy.Replacer
	esc  func(string) string
}

// placeholder returns a Caddy placeholder's value escaped for the format.
// Caddy placeholders in a template's text become calls to it.
func placeholder(d *templateData, key string) string {
	if d.repl == nil {
		return ""
	}
	s, _ := d.repl.GetString(key)
	return d.esc(s)
}

// validateTemplate checks a template's settings and compiles an inline one
// with sample values. It reads no file: a `file` template is read and
// checked when the handler is provisioned, so configs adapt and validate
// on machines without the file.
func validateTemplate(format string, t *Template) error {
	if err := validateFormat(format); err != nil {
		return err
	}
	if t == nil || t.Inline == "" && t.File == "" {
		return fmt.Errorf("%s: set inline or file", format)
	}
	if t.Inline != "" && t.File != "" {
		return fmt.Errorf("%s: set inline or file, not both", format)
	}
	if t.File != "" {
		return nil
	}
	_, err := parseTemplate(format, t.Inline)
	return err
}

// compileTemplate reads t's file, if it has one, and parses the text for
// format.
func compileTemplate(format string, t *Template) (*compiledTemplate, error) {
	if t.File == "" {
		return parseTemplate(format, t.Inline)
	}
	b, err := os.ReadFile(t.File)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", format, err)
	}
	ct, err := parseTemplate(format, string(b))
	if err != nil {
		return nil, fmt.Errorf("%w (from %s)", err, t.File)
	}
	return ct, nil
}

// parseTemplate parses text for format, then renders it once with hostile
// sample values so an invalid template fails at load, not on the first
// outage.
func parseTemplate(format, text string) (*compiledTemplate, error) {
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("%s: empty", format)
	}
	// Caddy placeholders become template calls so their values are
	// escaped like every other value
	text = placeholderRE.ReplaceAllString(text, `{{placeholder $$ "$1"}}`)

	ct := &compiledTemplate{format: format, esc: escaperFor(format)}
	var err error
	if format == FormatHTML {
		ct.tmpl, err = htmltemplate.New(format).Option("missingkey=error").
			Funcs(htmltemplate.FuncMap{"placeholder": placeholder}).Parse(text)
	} else {
		ct.tmpl, err = texttemplate.New(format).Option("missingkey=error").
			Funcs(texttemplate.FuncMap{"placeholder": placeholder}).Parse(text)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", format, err)
	}

	sample := bodyValues{
		Status: 502, Title: `Bad "Gateway" <&>`, Detail: "a\nb\\c\"d</script>", Cause: "x",
		Class: "5xx", Type: "about:blank", Instance: `/p"a<t>h\`, RequestID: "id",
	}
	repl := caddy.NewReplacer()
	repl.Set("sample", "\"\\\n<>")
	out, err := ct.render(sample, repl)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", format, err)
	}
	if (format == FormatProblem || format == FormatJSON) && !json.Valid(out) {
		return nil, fmt.Errorf("%s: does not render valid JSON: %s", format, out)
	}
	return ct, nil
}

// render executes the template with values escaped for its format.
func (ct *compiledTemplate) render(v bodyValues, repl *caddy.Replacer) ([]byte, error) {
	v = v.escaped(ct.esc)
	data := &templateData{
		Status: v.Status, Title: v.Title, Detail: v.Detail, Cause: v.Cause, Class: v.Class,
		Type: v.Type, Instance: v.Instance, RequestID: v.RequestID,
		repl: repl, esc: ct.esc,
	}
	var buf bytes.Buffer
	if err := ct.tmpl.Execute(&buf, data); err != nil {
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
		return textsafe.StripControl
	}
	return func(s string) string { return s }
}

// jsonStringContent escapes s for use between the quotes of a JSON string.
func jsonStringContent(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
