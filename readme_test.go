package caddyupstreamerrors_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-upstream-errors/caddy-upstream-errors"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/examples/legacy"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// readmeMaxLines is how long the README may grow: a page a Caddy user
// reads in two minutes, with the depth in docs/.
const readmeMaxLines = 220

// readmeMaxCell bounds a table cell, so tables stay scannable.
const readmeMaxCell = 90

// readmeSections are the README's sections in the order a Caddy user
// reads them; others may come between and after.
var readmeSections = []string{
	"What it does", "Install", "Quick start", "Caddyfile", "Where to put it",
	"Check a config", "Troubleshooting", "Documentation",
}

// block is a fenced code block of a Markdown page.
type block struct {
	lang string
	body string // without the fence's indentation
	line int    // of the opening fence, from 1
	// before is the last non-blank line above the fence, and text the
	// paragraph it ends (the lines up to the previous blank one).
	before, text string
}

// openFence matches an opening or closing fence line.
var openFence = regexp.MustCompile("^(\\s*)```(\\w*)")

// codeBlocks returns the fenced code blocks of a Markdown page.
func codeBlocks(t *testing.T, page string) []block {
	t.Helper()
	data, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var out []block
	for i := 0; i < len(lines); i++ {
		m := openFence.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		b := block{lang: m[2], line: i + 1}
		for j := i - 1; j >= 0 && strings.TrimSpace(lines[j]) != ""; j-- {
			if b.before == "" {
				b.before = strings.TrimSpace(lines[j])
			}
			b.text = strings.TrimSpace(lines[j]) + " " + b.text
		}
		if b.before == "" && i > 0 {
			// a blank line between: the paragraph above it
			for j := i - 2; j >= 0 && strings.TrimSpace(lines[j]) != ""; j-- {
				if b.before == "" {
					b.before = strings.TrimSpace(lines[j])
				}
				b.text = strings.TrimSpace(lines[j]) + " " + b.text
			}
		}
		var body []string
		j := i + 1
		for ; j < len(lines) && strings.TrimSpace(lines[j]) != "```"; j++ {
			body = append(body, strings.TrimPrefix(lines[j], m[1]))
		}
		if j == len(lines) {
			t.Fatalf("%s:%d: the code block is not closed", page, i+1)
		}
		b.body = strings.Join(body, "\n") + "\n"
		out = append(out, b)
		i = j
	}
	return out
}

// blocksOf returns the blocks of lang.
func blocksOf(bs []block, lang string) []block {
	var out []block
	for _, b := range bs {
		if b.lang == lang {
			out = append(out, b)
		}
	}
	return out
}

// errorPage is a template file for the snippets that name one.
func errorPage(t *testing.T) string {
	t.Helper()
	page := filepath.Join(t.TempDir(), "error.html")
	if err := os.WriteFile(page, []byte("<h1>{{.Status}} {{.Title}}</h1>"), 0o600); err != nil {
		t.Fatal(err)
	}
	return page
}

// siteAddress matches the first line of a whole Caddyfile: global options
// or a site address.
var siteAddress = regexp.MustCompile(`^(\{|[\w.-]*[.:][\w.:-]*\s*\{|https?://)`)

// asCaddyfile returns a snippet as a whole Caddyfile: a snippet of
// directives goes in a site.
func asCaddyfile(snippet string) string {
	first := ""
	for l := range strings.SplitSeq(snippet, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			first = l
			break
		}
	}
	if siteAddress.MatchString(first) {
		return snippet
	}
	var b strings.Builder
	b.WriteString(":8080 {\n")
	for l := range strings.SplitSeq(strings.TrimSuffix(snippet, "\n"), "\n") {
		if l != "" {
			b.WriteString("\t" + l)
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// TestReadmeShape holds the README to what a Caddy user scans: its
// length, the title, one sentence and the two commands at the top, its
// sections in reading order, short table cells, and a recipe for each
// example.
func TestReadmeShape(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) > readmeMaxLines {
		t.Errorf("README has %d lines; keep it to %d and move depth to docs/", len(lines), readmeMaxLines)
	}

	// the title, one sentence, then the two commands
	if lines[0] != "# caddy-upstream-errors" {
		t.Errorf("first line %q, want the title", lines[0])
	}
	intro, rest, _ := strings.Cut(strings.Join(lines[2:], "\n"), "\n\n")
	sentence := strings.Join(strings.Fields(intro), " ")
	if !strings.HasSuffix(sentence, ".") || strings.Count(sentence, ". ") > 0 || strings.Contains(sentence, "```") {
		t.Errorf("the README must open with one sentence saying what the module is, got %q", intro)
	}
	bs := codeBlocks(t, "README.md")
	if len(bs) == 0 || !strings.HasPrefix(rest, "```") {
		t.Fatalf("no code block right after the first sentence")
	}
	var cmds []string
	for l := range strings.SplitSeq(strings.TrimSpace(bs[0].body), "\n") {
		cmd, _, _ := strings.Cut(l, "#")
		cmds = append(cmds, strings.TrimSpace(cmd))
	}
	// CI's .ci/run runs the second one as it is
	if want := []string{"go run ./examples/demo", "go test ./..."}; !slices.Equal(cmds, want) {
		t.Errorf("the first code block runs %q, want exactly %q", cmds, want)
	}
	if ci, err := os.ReadFile(".ci/run"); err != nil || !slices.Contains(strings.Split(string(ci), "\n"), cmds[len(cmds)-1]) {
		t.Errorf(".ci/run does not run the README's test command %q (%v)", cmds[len(cmds)-1], err)
	}

	// the sections a Caddy user reads, in order
	var sections []string
	for _, l := range lines {
		if h, ok := strings.CutPrefix(l, "## "); ok {
			sections = append(sections, h)
		}
	}
	at := 0
	for _, want := range readmeSections {
		i := slices.Index(sections[at:], want)
		if i < 0 {
			t.Errorf("section %q is missing or out of order in %q", want, sections)
			continue
		}
		at += i + 1
	}

	// terse table cells (a | in code is escaped)
	for i, l := range lines {
		if !strings.HasPrefix(l, "|") {
			continue
		}
		for cell := range strings.SplitSeq(strings.ReplaceAll(l, `\|`, "!"), "|") {
			if n := len([]rune(strings.TrimSpace(cell))); n > readmeMaxCell {
				t.Errorf("README:%d: a table cell of %d characters; keep cells under %d: %.60s...", i+1, n, readmeMaxCell, strings.TrimSpace(cell))
			}
		}
	}

	// each example is a recipe
	files, _ := filepath.Glob("examples/*/Caddyfile")
	files = append(files, "examples/json/caddy.json")
	for _, f := range files {
		if filepath.Dir(f) == filepath.Join("examples", "demo") {
			continue // the Quick start's
		}
		if !strings.Contains(text, "("+filepath.ToSlash(f)+")") {
			t.Errorf("README links no recipe to %s", f)
		}
	}
}

// TestReadmeRequirements keeps the Requirements section equal to go.mod:
// the oldest Caddy the module supports is the one it requires, and the Go
// version is the one its go directive names.
func TestReadmeRequirements(t *testing.T) {
	data, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	caddyVersion := ""
	for _, r := range mod.Require {
		if r.Mod.Path == caddyModule {
			caddyVersion = r.Mod.Version
		}
	}
	goVersion := strings.Join(strings.SplitN(mod.Go.Version, ".", 3)[:2], ".")
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"**Caddy " + caddyVersion + " or newer.**",
		"**Go " + goVersion + " or newer**",
	} {
		if !bytes.Contains(readme, []byte(want)) {
			t.Errorf("README does not say %q (go.mod)", want)
		}
	}
	// the build error it quotes names the version go.mod requires
	quoted := regexp.MustCompile(`caddy/v2@(v[0-9.]+), (?:but|not)`).FindAllSubmatch(readme, -1)
	if len(quoted) == 0 {
		t.Error("README does not quote the build error for an older Caddy")
	}
	for _, m := range quoted {
		if string(m[1]) != caddyVersion {
			t.Errorf("README quotes a requirement of Caddy %s; go.mod requires %s", m[1], caddyVersion)
		}
	}
}

// TestReadmeCaddyfiles adapts every Caddyfile snippet in the README, a
// snippet of directives in a site, so the documentation cannot drift
// from the directive; none may warn.
func TestReadmeCaddyfiles(t *testing.T) {
	blocks := blocksOf(codeBlocks(t, "README.md"), "caddyfile")
	if len(blocks) == 0 {
		t.Fatal("found no Caddyfile block")
	}
	page := errorPage(t)
	adapter := caddyconfig.GetAdapter("caddyfile")
	for _, b := range blocks {
		cf := asCaddyfile(strings.ReplaceAll(b.body, "/etc/caddy/error.html", page))
		_, warns, err := adapter.Adapt([]byte(cf), map[string]any{"filename": "README"})
		if err != nil {
			t.Errorf("README:%d: the snippet does not adapt: %v\n%s", b.line, err, cf)
		}
		if len(warns) > 0 {
			t.Errorf("README:%d: the snippet adapts with warnings: %v\n%s", b.line, warns, cf)
		}
	}
}

// isLogBlock reports whether a JSON block is log output: one JSON object
// with a level on each line.
func isLogBlock(body string) bool {
	n := 0
	for l := range strings.SplitSeq(strings.TrimSpace(body), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(l), &e) != nil || e["level"] == nil {
			return false
		}
		n++
	}
	return n > 0
}

// checkHandlerJSON decodes a handler's JSON strictly and validates it,
// reporting whether the block is one.
func checkHandlerJSON(t *testing.T, where, body string) bool {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Errorf("%s: %v\n%s", where, err, body)
		return false
	}
	if m["handler"] != "upstream_errors" {
		return false
	}
	// the module name goes; every other member must be a config field
	delete(m, "handler")
	cfg, _ := json.Marshal(m)
	dec := json.NewDecoder(bytes.NewReader(cfg))
	dec.DisallowUnknownFields()
	var h upstreamerrors.Handler
	if err := dec.Decode(&h); err != nil {
		t.Errorf("%s: %v\n%s", where, err, body)
		return true
	}
	if err := h.Validate(); err != nil {
		t.Errorf("%s: %v\n%s", where, err, body)
	}
	return true
}

// TestReadmeJSON decodes any handler JSON in the README strictly and
// validates it; its log excerpts are checked against the demo by
// TestReadmeDemo. (The README links the JSON example, which the examples'
// tests load.)
func TestReadmeJSON(t *testing.T) {
	for _, b := range blocksOf(codeBlocks(t, "README.md"), "json") {
		if isLogBlock(b.body) {
			continue
		}
		if !checkHandlerJSON(t, "README:"+itoa(b.line), b.body) {
			t.Errorf("README:%d: a JSON block that is neither log output nor the handler's config", b.line)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// The README quotes the demo: requests to it, with the answers, the log
// entries and the metric they give. TestReadmeDemo sends each request to
// a Caddy running the demo's own embedded config, in front of the
// demo's legacy backend, and compares what comes back with what is
// quoted. Only values that differ per request may differ: the Date, a
// request ID Caddy generates (a UUID), timestamps and loopback ports.

// demoBase is the demo's address as the README writes it.
const demoBase = "http://127.0.0.1:8080"

// demoAdminBase is the demo's admin endpoint as the README writes it.
const demoAdminBase = "http://127.0.0.1:2019"

// demo is a running copy of the demo.
type demo struct {
	c     *testcaddy.Caddy
	admin string // host:port, or "" when off
}

// startDemo runs examples/demo/Caddyfile as `go run ./examples/demo`
// does, on free loopback ports: with the module, or, for stock, with its
// upstream_errors line left out. The demo stops at the end of t.
func startDemo(t *testing.T, stock, admin bool) *demo {
	t.Helper()
	src, err := os.ReadFile("examples/demo/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	if stock {
		var kept []string
		for l := range strings.SplitSeq(string(src), "\n") {
			if strings.TrimSpace(l) != "upstream_errors" {
				kept = append(kept, l)
			}
		}
		if len(kept) == strings.Count(string(src), "\n")+1 {
			t.Fatal("the demo's Caddyfile has no upstream_errors line to leave out")
		}
		src = []byte(strings.Join(kept, "\n"))
	}
	backend, err := legacy.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close() })
	d := &demo{}
	adminEnv := "off"
	if admin {
		d.admin = fmt.Sprintf("127.0.0.1:%d", testcaddy.FreePort(t))
		adminEnv = d.admin
	}
	for k, v := range map[string]string{
		"LEGACY": backend.Addr, "DEAD": testcaddy.ClosedPort(t),
		"DEMO_HOST": "127.0.0.1", "DEMO_PORT": "8080", "DEMO_ADMIN": adminEnv,
	} {
		t.Setenv(k, v)
	}
	cfg, err := testcaddy.Adapt(string(src))
	if err != nil {
		t.Fatalf("the demo's Caddyfile: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(cfg, &m); err != nil {
		t.Fatal(err)
	}
	servers := m["apps"].(map[string]any)["http"].(map[string]any)["servers"].(map[string]any)
	if len(servers) != 1 {
		t.Fatalf("the demo has %d servers, want 1", len(servers))
	}
	for _, srv := range servers {
		srv.(map[string]any)["listen"] = []any{"127.0.0.1:PORT"}
	}
	if !admin {
		m["admin"] = map[string]any{"disabled": true, "config": map[string]any{"persist": false}}
	}
	out, _ := json.Marshal(m)
	d.c = testcaddy.StartJSON(t, string(out))
	return d
}

// curlRequest is what a curl command line of the README asks for.
type curlRequest struct {
	url    string
	header [][2]string // -H values, in order
}

// shellWords splits a command line into words, with single and double
// quotes; it stops at a comment.
func shellWords(line string) (words []string, comment string) {
	var w strings.Builder
	in, quote := false, rune(0)
	for i, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				w.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, w.String())
				w.Reset()
				in = false
			}
		case r == '#' && !in:
			return words, strings.TrimSpace(line[i+1:])
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if in {
		words = append(words, w.String())
	}
	return words, ""
}

// parseCurl reads a curl command line; ok is false for one that is not a
// single curl command.
func parseCurl(line string) (req curlRequest, comment string, ok bool) {
	words, comment := shellWords(line)
	if len(words) < 2 || words[0] != "curl" || strings.ContainsAny(line, ";|&") {
		return req, comment, false
	}
	for i := 1; i < len(words); i++ {
		switch w := words[i]; {
		case w == "-H" && i+1 < len(words):
			name, value, _ := strings.Cut(words[i+1], ":")
			req.header = append(req.header, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
			i++
		case strings.HasPrefix(w, "http"):
			req.url = w
		case w == "-i" || w == "-s" || w == "-si":
		default:
			return req, comment, false
		}
	}
	return req, comment, req.url != ""
}

// exchange is one request sent and what came back, as curl -i shows it.
type exchange struct {
	statusLine string
	header     [][2]string // in the order sent
	body       string
	res        *http.Response
}

// send sends req to d as curl does (its User-Agent and Accept, then the
// -H fields, which replace them), and reads the answer with its header
// fields in the order they were sent.
func (d *demo) send(t *testing.T, req curlRequest) exchange {
	t.Helper()
	path, ok := strings.CutPrefix(req.url, demoBase)
	if !ok {
		t.Fatalf("%s is not the demo's address, %s", req.url, demoBase)
	}
	fields := [][2]string{{"Host", "127.0.0.1:8080"}, {"User-Agent", "curl/8.5.0"}, {"Accept", "*/*"}}
	for _, h := range req.header {
		i := slices.IndexFunc(fields, func(f [2]string) bool { return strings.EqualFold(f[0], h[0]) })
		if i >= 0 {
			fields[i] = h
		} else {
			fields = append(fields, h)
		}
	}
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", d.c.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	var w strings.Builder
	fmt.Fprintf(&w, "GET %s HTTP/1.1\r\n", path)
	for _, f := range fields {
		fmt.Fprintf(&w, "%s: %s\r\n", f[0], f[1])
	}
	w.WriteString("\r\n")
	if _, err := io.WriteString(conn, w.String()); err != nil {
		t.Fatal(err)
	}
	var raw bytes.Buffer
	res, err := http.ReadResponse(bufio.NewReader(io.TeeReader(conn, &raw)), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", path, err)
	}
	head, _, _ := strings.Cut(raw.String(), "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	ex := exchange{statusLine: lines[0], body: string(body), res: res}
	for _, l := range lines[1:] {
		name, value, _ := strings.Cut(l, ":")
		ex.header = append(ex.header, [2]string{name, strings.TrimSpace(value)})
	}
	return ex
}

// perRequest matches values that differ per request: Caddy's request IDs
// and the ports of loopback addresses.
var (
	uuidPattern     = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	loopbackPattern = regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
)

func normalize(s string) string {
	s = uuidPattern.ReplaceAllString(s, "<uuid>")
	return loopbackPattern.ReplaceAllString(s, "127.0.0.1:<port>")
}

// quotedExchange splits a console block into the curl command and the
// answer it quotes.
func quotedExchange(body string) (cmd string, ex exchange) {
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	cmd = strings.TrimPrefix(lines[0], "$ ")
	if len(lines) < 2 {
		return cmd, ex
	}
	ex.statusLine = lines[1]
	i := 2
	for ; i < len(lines) && lines[i] != ""; i++ {
		name, value, _ := strings.Cut(lines[i], ":")
		ex.header = append(ex.header, [2]string{name, strings.TrimSpace(value)})
	}
	if i < len(lines) {
		ex.body = strings.Join(lines[i+1:], "\n")
	}
	return cmd, ex
}

// compareExchange reports where got differs from what the page quotes.
func compareExchange(t *testing.T, where string, quoted, got exchange) {
	t.Helper()
	if got.statusLine != quoted.statusLine {
		t.Errorf("%s: status line %q, the page quotes %q", where, got.statusLine, quoted.statusLine)
	}
	show := func(h [][2]string) string {
		s := make([]string, 0, len(h))
		for _, f := range h {
			if f[0] == "Date" {
				f[1] = "<date>"
			}
			s = append(s, f[0]+": "+normalize(f[1]))
		}
		return strings.Join(s, "\n")
	}
	if g, q := show(got.header), show(quoted.header); g != q {
		t.Errorf("%s: header fields\n%s\n\nthe page quotes\n%s", where, g, q)
	}
	if g, q := normalize(strings.TrimRight(got.body, "\n")), normalize(strings.TrimRight(quoted.body, "\n")); g != q {
		t.Errorf("%s: body\n%s\n\nthe page quotes\n%s", where, g, q)
	}
}

// stockMarker, on the line before a console block, says the answer
// quoted is stock Caddy's: the demo without upstream_errors.
const stockMarker = "<!-- stock Caddy"

// metricsCommand is how the page shows the demo's metric.
var metricsCommand = regexp.MustCompile(`^curl -s ` + regexp.QuoteMeta(demoAdminBase) + `/metrics \| grep '([^']+)'$`)

// checkDemoQuotes checks every request to the demo that page quotes or
// suggests, and every log entry it quotes, against the demo's answers.
// It returns how many it checked.
func checkDemoQuotes(t *testing.T, page string) int {
	bs := codeBlocks(t, page)
	n := 0
	var module, stock *demo
	get := func(t *testing.T, isStock bool) *demo {
		// one Caddy runs at a time: the other one stops first
		if isStock {
			if stock == nil {
				stock = startDemo(t, true, false)
			}
			return stock
		}
		if module == nil {
			module = startDemo(t, false, false)
		}
		return module
	}

	// answers quoted in full: $ curl ... and the answer under it
	var quotedStock, quotedModule []block
	for _, b := range blocksOf(bs, "console") {
		if strings.HasPrefix(b.before, stockMarker) {
			quotedStock = append(quotedStock, b)
		} else {
			quotedModule = append(quotedModule, b)
		}
	}
	t.Run("stock", func(t *testing.T) {
		for _, b := range quotedStock {
			where := fmt.Sprintf("%s:%d", page, b.line)
			cmd, quoted := quotedExchange(b.body)
			req, _, ok := parseCurl(cmd)
			if !ok {
				t.Errorf("%s: %q is not a curl request to the demo", where, cmd)
				continue
			}
			compareExchange(t, where, quoted, get(t, true).send(t, req))
			n++
		}
	})
	t.Run("module", func(t *testing.T) {
		for _, b := range quotedModule {
			where := fmt.Sprintf("%s:%d", page, b.line)
			cmd, quoted := quotedExchange(b.body)
			if metricsCommand.MatchString(cmd) {
				continue // TestReadmeDemoMetric
			}
			req, _, ok := parseCurl(cmd)
			if !ok {
				t.Errorf("%s: %q is not a curl request to the demo", where, cmd)
				continue
			}
			compareExchange(t, where, quoted, get(t, false).send(t, req))
			n++
		}

		// suggested requests: curl ... # <status> [cause]
		for _, b := range blocksOf(bs, "sh") {
			for i, l := range strings.Split(b.body, "\n") {
				if !strings.HasPrefix(strings.TrimSpace(l), "curl ") || !strings.Contains(l, demoBase) {
					continue
				}
				where := fmt.Sprintf("%s:%d", page, b.line+1+i)
				req, comment, ok := parseCurl(l)
				if !ok {
					t.Errorf("%s: %q is not one curl request the test can send", where, l)
					continue
				}
				checkSuggested(t, where, get(t, false), req, comment)
				n++
			}
		}

		// log entries of requests: the request their uri names, sent again
		forLogEntries(bs, page, func(where, line, text string, e testcaddy.Entry) {
			if e["uri"] != nil {
				checkLogEntry(t, where, get(t, false), line, text)
				n++
			}
		})
	})
	// entries at load: with no demo running, as they start a Caddy of
	// their own
	t.Run("load", func(t *testing.T) {
		forLogEntries(bs, page, func(where, line, text string, e testcaddy.Entry) {
			if e["uri"] == nil {
				checkLogEntry(t, where, nil, line, text)
				n++
			}
		})
	})
	return n
}

// forLogEntries calls fn for each log entry quoted in a JSON block.
func forLogEntries(bs []block, page string, fn func(where, line, text string, e testcaddy.Entry)) {
	for _, b := range blocksOf(bs, "json") {
		if !isLogBlock(b.body) {
			continue
		}
		for i, l := range strings.Split(strings.TrimSpace(b.body), "\n") {
			var e testcaddy.Entry
			_ = json.Unmarshal([]byte(l), &e)
			fn(fmt.Sprintf("%s:%d", page, b.line+1+i), l, b.text, e)
		}
	}
}

// statusInComment and causeInComment read what a suggested request's
// comment says it answers.
var (
	statusInComment = regexp.MustCompile(`\b[1-5][0-9][0-9]\b`)
	causeInComment  = regexp.MustCompile(`\b[a-z]+(?:_[a-z]+)+\b`)
)

// checkSuggested sends a suggested request and checks the status, and
// the cause, its comment names.
func checkSuggested(t *testing.T, where string, d *demo, req curlRequest, comment string) {
	t.Helper()
	status := statusInComment.FindString(comment)
	if status == "" {
		t.Errorf("%s: the comment %q says no status; say what the request answers", where, comment)
		return
	}
	got := d.send(t, req)
	if strconv.Itoa(got.res.StatusCode) != status {
		t.Errorf("%s: %s answered %s, the comment says %s", where, req.url, got.statusLine, status)
	}
	for _, want := range causeInComment.FindAllString(comment, -1) {
		var p struct{ Cause string }
		if err := json.Unmarshal([]byte(got.body), &p); err != nil || p.Cause != want {
			t.Errorf("%s: %s answered cause %q, the comment says %s\n%s", where, req.url, p.Cause, want, got.body)
		}
	}
	for _, h := range req.header {
		if strings.EqualFold(h[0], "X-Request-ID") && !strings.Contains(got.body, `"`+h[1]+`"`) && !strings.Contains(got.body, h[1]+"<") {
			t.Errorf("%s: the answer does not echo the request ID %s:\n%s", where, h[1], got.body)
		}
	}
}

// lineOfCaddyfile finds "`<line>` on line N" in the text before a quoted
// load error: the Caddyfile line that causes it.
var lineOfCaddyfile = regexp.MustCompile("`([^`]+)` on\\s+line (\\d+)")

// checkLogEntry checks one quoted log entry against the module's: for
// an entry of a request (it has a uri), the module's entry for the same
// request; for the intercept warning, the warning of a config with that
// list; for a load error, the error adapting the Caddyfile line the text
// names. d is the demo, for an entry of a request.
func checkLogEntry(t *testing.T, where string, d *demo, line, text string) {
	t.Helper()
	var quoted testcaddy.Entry
	if err := json.Unmarshal([]byte(line), &quoted); err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	var got testcaddy.Entry
	switch {
	case quoted["uri"] != nil:
		id := uuid()
		d.send(t, curlRequest{url: demoBase + quoted["uri"].(string), header: [][2]string{{"X-Request-ID", id}}})
		es := d.c.WaitEntries(id, 5*time.Second)
		if len(es) != 1 {
			t.Errorf("%s: %d module entries for GET %s, want 1: %v", where, len(es), quoted["uri"], es)
			return
		}
		got = es[0]
	case quoted["intercept"] != nil:
		var list []string
		for _, v := range quoted["intercept"].([]any) {
			list = append(list, v.(string))
		}
		got = loadWarning(t, "intercept "+strings.Join(list, " "))
	case strings.HasPrefix(fmt.Sprint(quoted["msg"]), "adapting config using caddyfile: "):
		m := lineOfCaddyfile.FindStringSubmatch(text)
		if m == nil || m[2] != "3" {
			t.Errorf("%s: the text before a load error must name the line that causes it, as \"`retry_afer 30` on line 3\": %q", where, text)
			return
		}
		cf := "example.com {\n\tupstream_errors {\n\t\t" + m[1] + "\n\t}\n\treverse_proxy legacy:8080\n}\n"
		_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), map[string]any{"filename": "Caddyfile"})
		if err == nil {
			t.Errorf("%s: %q loads without an error", where, m[1])
			return
		}
		got = testcaddy.Entry{"level": "error", "ts": 0.0, "msg": "adapting config using caddyfile: " + err.Error()}
	default:
		t.Errorf("%s: a log entry the test cannot reproduce: %s", where, line)
		return
	}
	delete(quoted, "ts")
	delete(got, "ts")
	q, _ := json.Marshal(quoted)
	g, _ := json.Marshal(got)
	if normalize(string(q)) != normalize(string(g)) {
		t.Errorf("%s: log entry\n%s\nthe page quotes\n%s", where, g, q)
	}
}

// loadWarning loads a site whose directive has the one line given, and
// returns the module's warning at load.
func loadWarning(t *testing.T, line string) testcaddy.Entry {
	t.Helper()
	var got testcaddy.Entry
	t.Run("load", func(t *testing.T) {
		c := testcaddy.StartCaddyfile(t, "upstream_errors {\n"+line+"\n}\nreverse_proxy "+testcaddy.ClosedPort(t))
		for _, e := range c.Entries(testcaddy.LoggerName) {
			if e["level"] == "warn" {
				got = e
			}
		}
	})
	if got == nil {
		t.Errorf("%q loads without a warning", line)
		got = testcaddy.Entry{}
	}
	return got
}

// uuid returns a random request ID in the form of Caddy's own.
func uuid() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// TestReadmeDemo checks every answer of the demo the README quotes or
// suggests: status line, header fields and body; the log entries and the
// warnings and errors at load it quotes.
func TestReadmeDemo(t *testing.T) {
	if n := checkDemoQuotes(t, "README.md"); n < 10 {
		t.Errorf("checked %d quotes of the demo in the README; has the page lost them?", n)
	}
}

// TestReadmeDemoMetric checks the metric the README shows after one
// refused request: the series it quotes, grown by what it says.
func TestReadmeDemoMetric(t *testing.T) {
	var cmd string
	var quoted []string
	for _, b := range blocksOf(codeBlocks(t, "README.md"), "console") {
		lines := strings.Split(strings.TrimSpace(b.body), "\n")
		if c := strings.TrimPrefix(lines[0], "$ "); metricsCommand.MatchString(c) {
			cmd, quoted = c, lines[1:]
		}
	}
	if cmd == "" {
		t.Fatal("the README shows no metric")
	}
	pattern := regexp.MustCompile(metricsCommand.FindStringSubmatch(cmd)[1])
	d := startDemo(t, false, true)
	scrape := func() map[string]float64 {
		res, err := http.Get("http://" + d.admin + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		out := map[string]float64{}
		for l := range strings.SplitSeq(string(data), "\n") {
			if pattern.MatchString(l) {
				series, value, _ := strings.Cut(l, " ")
				v, _ := strconv.ParseFloat(value, 64)
				out[series] = v
			}
		}
		return out
	}
	before := scrape()
	d.send(t, curlRequest{url: demoBase + "/dead/"})
	after := scrape()
	if len(after) != len(quoted) {
		t.Errorf("grep %s matches %d series, the README shows %d: %v", pattern, len(after), len(quoted), after)
	}
	for _, q := range quoted {
		series, value, _ := strings.Cut(q, " ")
		want, _ := strconv.ParseFloat(value, 64)
		got, ok := after[series]
		if !ok {
			t.Errorf("no series %s on /metrics", series)
			continue
		}
		// the counter is process-wide: other tests may have counted before
		if _, ok := before[series]; !ok {
			t.Errorf("%s was not at 0 before the first failure", series)
		}
		if got-before[series] != want {
			t.Errorf("%s grew by %v for one refused request, the README says %v", series, got-before[series], want)
		}
	}
}
