// The architecture, as a test: dependencies point inwards. gateway imports
// none of our packages; store, drivers, web and sync import gateway and
// never each other; only cmd/ wires everything.
package passerelle_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/passerelle/passerelle"

// layer names the top-level folder of one of our packages.
func layer(pkg string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	top, _, _ := strings.Cut(rest, "/")
	return top
}

// allowed says which of our layers each layer may import.
var allowed = map[string][]string{
	"gateway": {"gateway"},
	"store":   {"gateway", "store"},
	"drivers": {"gateway", "drivers"},
	"web":     {"gateway", "web"},
	"sync":    {"gateway", "sync"},
	"cmd":     {"gateway", "store", "drivers", "web", "sync", "cmd", "packaging", "docs"},
	// packaging holds the files of the packages (the systemd unit), no code.
	"packaging": {"packaging"},
	// docs holds the documents served as written (openapi.yaml), no code.
	"docs": {"docs"},
	// bench holds the helpers of `make bench`, wiring like cmd.
	"bench": {"gateway", "store", "drivers", "sync", "bench"},
}

func TestImportDirection(t *testing.T) {
	// Production imports only: a test of gateway may use a real store.
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := fields[0]
		from := layer(pkg)
		if pkg == module {
			continue
		}
		ok, known := allowed[from]
		if !known {
			t.Errorf("package %s is in no known layer: add its folder to this test", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			checked++
			to := layer(imp)
			if !contains(ok, to) {
				t.Errorf("%s imports %s: %s may import only %v", pkg, imp, from, ok)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no import of our own packages was checked: the test is not looking at the module")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
