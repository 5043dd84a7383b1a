package capture

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/passerelle/passerelle/drivers/notes"
)

// npmNotes prints the notes of ../escpos/testdata/npm/print.mjs with the
// npm encoders (`npm ci` there, as .ci/run does); it skips without node
// or the packages.
func npmNotes(t *testing.T) map[string][2][]byte {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "escpos", "testdata", "npm"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the npm encoders' notes are not printed")
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
	if err != nil || json.Unmarshal(b, &names) != nil {
		t.Fatalf("cases.json: %v", err)
	}
	cases := map[string][2][]byte{}
	for _, n := range names {
		bin, err1 := os.ReadFile(filepath.Join(out, n+".bin"))
		txt, err2 := os.ReadFile(filepath.Join(out, n+".txt"))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		cases[n] = [2][]byte{bin, txt}
	}
	return cases
}

// A note printed by an encoder no one here wrote, with styles, a logo, a
// QR code, a barcode and a cut, in several code pages: the printer gets
// exactly the bytes sent, and the ticket read is the note.
func TestNPMEncodersThroughCapture(t *testing.T) {
	cases := npmNotes(t)
	if len(cases) < 6 {
		t.Fatalf("%d cases", len(cases))
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, testLimits(), true)
			r.print(t, c[0])
			waitFor(t, "the printer to get the bytes", func() bool { return bytes.Equal(r.printer.Bytes(), c[0]) })
			jobs := r.jobs(t, 1)
			want, err := notes.Default().Read(strings.Split(strings.TrimSpace(string(c[1])), "\n"))
			if err != nil {
				t.Fatalf("the note itself: %v", err)
			}
			if jobs[0].Status != JobCreated || jobs[0].Read == nil {
				t.Fatalf("job %s: %s\n%s", jobs[0].Status, jobs[0].Reason, jobs[0].Text)
			}
			want.Currency = jobs[0].Read.Currency
			if !reflect.DeepEqual(*jobs[0].Read, want) {
				t.Fatalf("read %+v\nwant %+v", *jobs[0].Read, want)
			}
			if ts := r.ticketsOf(t); len(ts) != 1 || ts[0].Total != want.Total || ts[0].Ref != want.Ref {
				t.Fatalf("tickets = %+v", ts)
			}
		})
	}
}
