package escpos

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// encoderCase is a note printed by an npm ESC/POS encoder: the bytes,
// and the lines of the note the paper must show.
type encoderCase struct {
	Name  string
	Bytes []byte
	Note  []string
}

// EncoderCases prints testdata/npm/print.mjs's notes with the npm
// encoders (@point-of-sale/receipt-printer-encoder, esc-pos-encoder),
// installed by `npm ci` in testdata/npm (.ci/run does it). It skips when
// node or the packages are missing.
func encoderCases(t testing.TB) []encoderCase {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "npm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the npm encoders' notes are not checked")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Skipf("the npm encoders are not installed: run `npm ci` in %s", dir)
	}
	out := t.TempDir()
	cmd := exec.Command("node", filepath.Join(dir, "print.mjs"), out)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node print.mjs: %v\n%s", err, b)
	}
	var names []string
	b, err := os.ReadFile(filepath.Join(out, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &names); err != nil {
		t.Fatal(err)
	}
	var cases []encoderCase
	for _, n := range names {
		bin, err := os.ReadFile(filepath.Join(out, n+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		txt, err := os.ReadFile(filepath.Join(out, n+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, encoderCase{Name: n, Bytes: bin, Note: strings.Split(strings.TrimSpace(string(txt)), "\n")})
	}
	return cases
}

func TestDecodeNPMEncoders(t *testing.T) {
	cases := encoderCases(t)
	if len(cases) < 6 {
		t.Fatalf("only %d cases printed", len(cases))
	}
	cps := NewCodePages()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			jobs := Decode(c.Bytes, cps, cps.ByName("cp437"), DefaultLimits)
			if len(jobs) != 1 {
				t.Fatalf("%d jobs, want 1", len(jobs))
			}
			j := jobs[0]
			// The job ends at the cut: what follows it is only line feeds.
			rest, ok := bytes.CutPrefix(c.Bytes, j.Raw)
			if !ok || len(bytes.Trim(rest, "\r\n")) != 0 || !j.Cut || j.Unknown != 0 || j.Truncated {
				t.Errorf("raw a prefix %v, rest %q, cut %v, unknown %d, truncated %v", ok, rest, j.Cut, j.Unknown, j.Truncated)
			}
			if !containsRun(j.Lines, c.Note) {
				t.Errorf("the note is not on the paper:\n%s\nwant the lines:\n%s", j.Text(), strings.Join(c.Note, "\n"))
			}
		})
	}
}

// containsRun reports whether want's lines appear one after the other in
// lines, each trimmed.
func containsRun(lines, want []string) bool {
	for i := 0; i+len(want) <= len(lines); i++ {
		ok := true
		for k, w := range want {
			if strings.TrimSpace(lines[i+k]) != w {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
