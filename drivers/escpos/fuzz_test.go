package escpos

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// FuzzDecode feeds any bytes, whole and split in two: the decoder never
// panics, reads the same jobs either way, keeps within its limits, and
// every job's raw bytes come from the input in order.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("\x1b@\x1bt\x13TABLE 5\nNOTE N\xf8 1253\n1 X PLAT 23,50\nNET A PAYER 23,50 \xd5\n\x1dV\x41\x03"), 7)
	f.Add([]byte("\x1b*\x21\x02\x00abcdef\x1dv0\x00\x01\x00\x02\x00xy\x1dk\x04123\x00\x1dkI\x02ab\x1d(k\x03\x001PQ\n"), 3)
	f.Add([]byte("\x1b&\x03AB\x01abc\x02abcdef\x1cq\x01\x01\x00\x01\x0012345678A\n\x1d8L\x01\x00\x00\x00zB"), 11)
	f.Add([]byte("\x10\x04\x01\x10\x14\x01\x00\x01\x1bD\x08\x10\x00\tX\x1bd\x05\x1b\x01\x1d\x01\x1c\x01"), 1)
	lim := Limits{MaxJobBytes: 256, MaxLines: 16, MaxLineRunes: 32, MaxNULData: 64}
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		cps := NewCodePages()
		whole := Decode(in, cps, nil, lim)
		var parts []Job
		d := NewDecoder(cps, nil, lim, func(j Job) { parts = append(parts, j) })
		if split < 0 {
			split = -split
		}
		if len(in) > 0 {
			split %= len(in) + 1
		} else {
			split = 0
		}
		_, _ = d.Write(in[:split])
		_, _ = d.Write(in[split:])
		d.Close()
		if len(parts) != len(whole) {
			t.Fatalf("split at %d: %d jobs, whole: %d", split, len(parts), len(whole))
		}
		rest := in
		for i, j := range whole {
			if j.Text() != parts[i].Text() || !bytes.Equal(j.Raw, parts[i].Raw) {
				t.Fatalf("job %d differs when split", i)
			}
			if len(j.Raw) > lim.MaxJobBytes || len(j.Lines) > lim.MaxLines {
				t.Fatalf("job %d over the limits: %d bytes, %d lines", i, len(j.Raw), len(j.Lines))
			}
			for _, l := range j.Lines {
				if utf8.RuneCountInString(l) > lim.MaxLineRunes || !utf8.ValidString(l) {
					t.Fatalf("line %q over the limit or not UTF-8", l)
				}
			}
			at := bytes.Index(rest, j.Raw)
			if !j.Truncated && at < 0 {
				t.Fatalf("job %d's raw bytes are not in the input in order", i)
			}
			if at >= 0 {
				rest = rest[at+len(j.Raw):]
			}
		}
	})
}
