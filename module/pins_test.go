package upstreamerrors

import (
	"errors"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// The tests named TestPin* pin what the module assumes about Caddy's
// internals, each failing with a message that names the assumption and
// what to change when a Caddy release changes it. .ci/pin-check proves
// each of them fails on a copy of Caddy with that one thing changed; run
// it before raising the Caddy version in go.mod (docs/development.md).

const reverseproxyPkg = "github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"

// caddySource is what the reverseproxy package's source declares: its
// methods by receiver and name, and its string literals.
type caddySource struct {
	methods map[string]bool // "(*Handler).finalizeResponse"
	strings []string
}

// readCaddySource parses the non-test Go files of the reverseproxy package
// go.mod selects (a replace directive included).
func readCaddySource(t *testing.T) caddySource {
	t.Helper()
	pkg, err := build.Import(reverseproxyPkg, ".", build.FindOnly)
	if err != nil {
		t.Fatalf("finding %s: %v", reverseproxyPkg, err)
	}
	files, _ := filepath.Glob(filepath.Join(pkg.Dir, "*.go"))
	src := caddySource{methods: map[string]bool{}}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parsing %s: %v", f, err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if n.Recv != nil && len(n.Recv.List) == 1 {
					recv := n.Recv.List[0].Type
					if star, ok := recv.(*ast.StarExpr); ok {
						if id, ok := star.X.(*ast.Ident); ok {
							src.methods["(*"+id.Name+")."+n.Name.Name] = true
						}
					}
				}
			case *ast.BasicLit:
				if n.Kind == token.STRING {
					if s, err := strconv.Unquote(n.Value); err == nil {
						src.strings = append(src.strings, s)
					}
				}
			}
			return true
		})
	}
	return src
}

func (s caddySource) hasString(pred func(string) bool) bool {
	return slices.ContainsFunc(s.strings, pred)
}

// TestPinProxyFrames: origin.go tells reverse_proxy's copy of an upstream
// response, and a handle_response route's own page, by the function names
// on the call stack (stackWriter).
func TestPinProxyFrames(t *testing.T) {
	src := readCaddySource(t)
	for _, fn := range []struct{ full, what string }{
		{proxyFinalizeFunc, "the function that copies an upstream response to the client"},
		{proxyRoundTrip, "the function that runs handle_response routes"},
	} {
		pkg, method, _ := strings.Cut(fn.full, ".(")
		if pkg != reverseproxyPkg {
			t.Errorf("PIN stack frame: %s is named in package %s, but reverse_proxy is %s now: update the constants in origin.go", fn.full, pkg, reverseproxyPkg)
		}
		if !src.methods["("+method] {
			t.Errorf("PIN stack frame: Caddy's reverse_proxy has no method %s any more (%s). origin.go's stackWriter looks for it on the call stack; find the function that does this now in reverseproxy.go and update the constant in origin.go. Until then the Via check and the upstream's status and fields still mark its pages, and a handle_response page with the upstream's status is replaced rather than passed.", "("+method, fn.what)
		}
	}
}

// TestPinErrorStrings: classify.go names two of reverse_proxy's own
// failures by their message, as Caddy exports neither error.
func TestPinErrorStrings(t *testing.T) {
	src := readCaddySource(t)
	for _, m := range []struct{ msg, cause string }{
		{msgNoUpstreams, causeDestinationUnavail},
		{msgRetryMatch, causeDestinationUnavail},
	} {
		if !src.hasString(func(s string) bool { return strings.HasPrefix(s, m.msg) }) {
			t.Errorf("PIN error string: Caddy's reverse_proxy no longer returns an error reading %q (classified %s). Find its new message in reverseproxy.go and update classify.go; until then the failure is answered 502 upstream_error, its generic detail and no upstream content.", m.msg, m.cause)
		}
	}
}

// TestPinErrorTrace: caddyhttp.Error records the function that created
// the error as "<last package path element>.<function> (file:line)";
// fromProxy reads reverse_proxy's errors by the "reverseproxy." prefix.
func TestPinErrorTrace(t *testing.T) {
	herr := caddyhttp.Error(502, errors.New("x"))
	self := path.Base(strings.TrimSuffix(reflectPkgPath(), "/")) + "."
	if !strings.HasPrefix(herr.Trace, self+"TestPinErrorTrace ") {
		t.Fatalf("PIN error trace: caddyhttp.Error's Trace is %q, not %q followed by the function and its file: origin.go's fromProxy tells reverse_proxy's errors by their %q prefix; update proxyTracePrefix and fromProxy to the new format.", herr.Trace, self, proxyTracePrefix)
	}
	if want := path.Base(reverseproxyPkg) + "."; want != proxyTracePrefix {
		t.Fatalf("PIN error trace: reverse_proxy's package is %s, so its errors' trace starts %q, not proxyTracePrefix %q", reverseproxyPkg, want, proxyTracePrefix)
	}
}

// reflectPkgPath is this package's import path, from a function's name.
func reflectPkgPath() string {
	name := strings.TrimSuffix(moduleServeFunc, ".(*Handler).ServeHTTP")
	return name
}
