package upstreamerrors_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strings"
	"testing"
)

// The package exports what users of the JSON config and Caddy need: the
// handler (with Caddy's interfaces), its config types and the constants
// the docs name. Anything else the repository shares lives in internal/,
// so a new export is a decision made here, not a side effect.
func TestExportedDeclarations(t *testing.T) {
	want := []string{
		"DefaultDiscardLimit", "DefaultFormat", "DefaultHoldMax", "DefaultIntercept",
		"DefaultKeepHeader", "DefaultMaxUpstreams", "DefaultProxyStatusName", "DefaultRecent",
		"DefaultRequestIDHeader", "DefaultRetryAfter", "DefaultType",
		"FormatHTML", "FormatJSON", "FormatProblem", "FormatText",
		"Group4xx", "Group5xx", "GroupTimeout", "RetryAfterMax",
		"Handler", "Handler.CaddyModule", "Handler.Cleanup", "Handler.Provision",
		"Handler.ServeHTTP", "Handler.Validate",
		"Maintenance", "Metrics", "Template",
	}
	got := exported(t, ".")
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("exported declarations changed:\n got %s\nwant %s", strings.Join(got, " "), strings.Join(want, " "))
	}
}

// exported lists the exported top-level names of the package in dir, and
// the exported methods of its exported types as Type.Method.
func exported(t *testing.T, dir string) []string {
	t.Helper()
	notTest := func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }
	pkgs, err := parser.ParseDir(token.NewFileSet(), dir, notTest, 0) //nolint:staticcheck // one directory, one package: no module loading needed
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, d := range f.Decls {
				out = append(out, exportedNames(d)...)
			}
		}
	}
	slices.Sort(out)
	return out
}

func exportedNames(d ast.Decl) []string {
	var out []string
	switch d := d.(type) {
	case *ast.FuncDecl:
		if !d.Name.IsExported() {
			return nil
		}
		if d.Recv == nil {
			return []string{d.Name.Name}
		}
		typ := d.Recv.List[0].Type
		if star, ok := typ.(*ast.StarExpr); ok {
			typ = star.X
		}
		if id, ok := typ.(*ast.Ident); ok && id.IsExported() {
			out = append(out, id.Name+"."+d.Name.Name)
		}
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				if s.Name.IsExported() {
					out = append(out, s.Name.Name)
				}
			case *ast.ValueSpec:
				for _, n := range s.Names {
					if n.IsExported() {
						out = append(out, n.Name)
					}
				}
			}
		}
	}
	return out
}
