package terminalws_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The JSON Schemas of docs/schema name every message type and error code
// the code has, and no other: a type or a code added here without its
// schema fails this test. (cmd/passerelle's TestProtocolSchemasAgainstRealFrames
// checks the frames themselves.)

// schemaEnum reads the enum at path (property names, through "$defs" and
// "properties") of a docs/schema file.
func schemaEnum(t *testing.T, file string, path ...string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "schema", file))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, p := range append(path, "enum") {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: no %s", file, strings.Join(path, "."))
		}
		v = m[p]
	}
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	slices.Sort(out)
	return out
}

// parseDir parses the non-test Go files of dir.
func parseDir(t *testing.T, dir string) []*ast.File {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var out []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

func unquote(t *testing.T, e ast.Expr) (string, bool) {
	t.Helper()
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		t.Fatal(err)
	}
	return s, true
}

func sorted(set map[string]bool) []string {
	var out []string
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestSchemaNamesEveryErrorCode(t *testing.T) {
	codes := map[string]bool{}
	for _, f := range parseDir(t, ".") {
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if strings.HasPrefix(name.Name, "code") && i < len(vs.Values) {
					if s, ok := unquote(t, vs.Values[i]); ok {
						codes[s] = true
					}
				}
			}
			return true
		})
	}
	want := sorted(codes)
	got := schemaEnum(t, "gateway-to-terminal.schema.json", "$defs", "error", "properties", "code")
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("the schema's error codes %v, the code's %v", got, want)
	}
}

func TestSchemaNamesEveryMessageType(t *testing.T) {
	// What terminals send: the cases of Decode's switch on the type.
	in := map[string]bool{}
	// What the gateway sends: the Type of the driver's own messages, and
	// the MessageType of the engine's.
	out := map[string]bool{}
	for _, f := range parseDir(t, ".") {
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.FuncDecl:
				if x.Name.Name != "Decode" {
					return true
				}
				ast.Inspect(x.Body, func(n ast.Node) bool {
					if cc, ok := n.(*ast.CaseClause); ok {
						for _, e := range cc.List {
							if s, ok := unquote(t, e); ok && s != "" {
								in[s] = true
							}
						}
					}
					return true
				})
				return false
			case *ast.KeyValueExpr:
				if k, ok := x.Key.(*ast.Ident); ok && k.Name == "Type" {
					if s, ok := unquote(t, x.Value); ok {
						out[s] = true
					}
				}
			}
			return true
		})
	}
	for _, f := range parseDir(t, filepath.Join("..", "..", "gateway")) {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "MessageType" || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if r, ok := n.(*ast.ReturnStmt); ok && len(r.Results) == 1 {
					if s, ok := unquote(t, r.Results[0]); ok {
						out[s] = true
					}
				}
				return true
			})
		}
	}
	if got, want := schemaEnum(t, "terminal-to-gateway.schema.json", "properties", "type"), sorted(in); len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("terminal-to-gateway.schema.json has types %v, Decode takes %v", got, want)
	}
	if got, want := schemaEnum(t, "gateway-to-terminal.schema.json", "properties", "type"), sorted(out); len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("gateway-to-terminal.schema.json has types %v, the gateway sends %v", got, want)
	}
}
