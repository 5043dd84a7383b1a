package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
)

// built is the passerelle binary that the tests running real processes
// share: building it takes seconds, so it is built once per test binary.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// buildPasserelle builds the passerelle binary once (the first caller pays)
// and returns its path. Under -race the binary is built with -race too: it
// reuses the packages the test binary was built from, and catches races in
// the real process as well.
func buildPasserelle(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "passerelle-test-")
		if built.err != nil {
			return
		}
		name := "passerelle"
		if runtime.GOOS == "windows" {
			name += ".exe"
		}
		built.path = filepath.Join(built.dir, name)
		args := []string{"build", "-o", built.path}
		if raceEnabled() {
			args = append(args, "-race")
		}
		// The test runs in the package's directory: "." is this command.
		built.out, built.err = exec.Command("go", append(args, ".")...).CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("build passerelle: %v\n%s", built.err, built.out)
	}
	return built.path
}

func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
