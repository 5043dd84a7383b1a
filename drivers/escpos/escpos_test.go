package escpos

import (
	"strings"
	"testing"
)

func decodeAll(t *testing.T, b []byte) []Job {
	t.Helper()
	cps := NewCodePages()
	return Decode(b, cps, cps.ByName("cp858"), DefaultLimits)
}

func TestDecodeCommandsAndCodePages(t *testing.T) {
	var b []byte
	b = append(b, esc, '@', esc, 't', 19) // cp858
	b = append(b, esc, '!', 0x30, esc, 'a', 1)
	b = append(b, "TOTAL 12,50 \xd5\n"...) // € in cp858
	b = append(b, esc, '*', 33, 2, 0, 1, 2, 3, 4, 5, 6)
	b = append(b, gs, 'v', '0', 0, 2, 0, 3, 0, 'A', 'B', 'C', 'D', 'E', 'F')
	b = append(b, gs, 'k', 4, 'X', 'Y', 0)
	b = append(b, gs, 'k', 73, 3, '\n', 'Z', 'Z')
	b = append(b, gs, '(', 'k', 4, 0, 49, 80, 48, '\n')
	b = append(b, esc, 't', 16)
	b = append(b, "CAF\xc9 \x80\n"...) // cp1252
	b = append(b, dle, 4, 1, esc, 'd', 2, gs, 'V', 66, 3)
	jobs := decodeAll(t, b)
	if len(jobs) != 1 {
		t.Fatalf("jobs = %d, want 1", len(jobs))
	}
	j := jobs[0]
	want := "TOTAL 12,50 €\nCAFÉ €"
	if got := j.Text(); got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	if !j.Cut || j.Unknown != 0 || string(j.Raw) != string(b) {
		t.Errorf("cut %v unknown %d raw equal %v", j.Cut, j.Unknown, string(j.Raw) == string(b))
	}
}

func TestDecodeJobBoundaries(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"cut", "A\n\x1dV\x00B\n\x1dV\x41\x00", []string{"A", "B"}},
		{"init after text", "\x1b@A\n\x1b@B\n", []string{"A", "B"}},
		{"init before text is one job", "\x1b@\x1b@A\n", []string{"A"}},
		{"close", "A\nB", []string{"A\nB"}},
		{"status only is no job", "\x10\x04\x01\x10\x04\x02", nil},
		{"cut with nothing printed", "\x1dV\x00", nil},
		{"ESC i and ESC m cut", "A\n\x1biB\n\x1bm", []string{"A", "B"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			jobs := decodeAll(t, []byte(c.in))
			var got []string
			for _, j := range jobs {
				got = append(got, j.Text())
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("jobs = %q, want %q", got, c.want)
			}
		})
	}
}

func TestDecodeInitSplitsRaw(t *testing.T) {
	in := "\x1b@A\n\x1b@B\n"
	jobs := decodeAll(t, []byte(in))
	if len(jobs) != 2 || string(jobs[0].Raw) != "\x1b@A\n" || string(jobs[1].Raw) != "\x1b@B\n" {
		t.Fatalf("raw = %+v", jobs)
	}
}

func TestDecodeUnknownCommandCounted(t *testing.T) {
	jobs := decodeAll(t, []byte("\x1b\x01A\n"))
	if len(jobs) != 1 || jobs[0].Unknown != 1 || jobs[0].Text() != "A" {
		t.Fatalf("jobs = %+v", jobs)
	}
	jobs = decodeAll(t, []byte("\x1bt\x63A\n")) // code page 99
	if len(jobs) != 1 || jobs[0].Unknown != 1 {
		t.Fatalf("unknown code page: %+v", jobs)
	}
}

func TestDecodeLimits(t *testing.T) {
	lim := Limits{MaxJobBytes: 10, MaxLines: 2, MaxLineRunes: 3, MaxNULData: 4}
	cps := NewCodePages()
	jobs := Decode([]byte("ABCDE\nF\nG\nH\n"), cps, nil, lim)
	if len(jobs) != 1 {
		t.Fatalf("jobs = %d", len(jobs))
	}
	j := jobs[0]
	if !j.Truncated || len(j.Raw) != 10 || j.Text() != "ABC\nF" {
		t.Errorf("job = %q raw %d truncated %v", j.Text(), len(j.Raw), j.Truncated)
	}
	// A barcode without its NUL does not swallow the rest of the stream.
	jobs = Decode([]byte("\x1dk\x04123456789\nX\n"), cps, nil, lim)
	if len(jobs) != 1 || !strings.Contains(jobs[0].Text(), "X") {
		t.Errorf("NUL limit: %+v", jobs)
	}
}

// Feeding a stream in pieces of any size reads the same jobs.
func TestDecodeChunked(t *testing.T) {
	var b []byte
	b = append(b, esc, '@')
	b = append(b, "NOTE 1\n"...)
	b = append(b, gs, 'v', '0', 0, 3, 0, 2, 0, 1, 2, 3, 4, 5, 6)
	b = append(b, esc, '&', 3, 'A', 'B', 2, 1, 2, 3, 4, 5, 6, 1, 7, 8, 9)
	b = append(b, fs, 'q', 1, 1, 0, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8)
	b = append(b, "TOTAL 3\n"...)
	b = append(b, gs, 'V', 0)
	b = append(b, "NEXT\n"...)
	whole := decodeAll(t, b)
	for size := 1; size < len(b); size++ {
		var jobs []Job
		cps := NewCodePages()
		d := NewDecoder(cps, cps.ByName("cp858"), DefaultLimits, func(j Job) { jobs = append(jobs, j) })
		for i := 0; i < len(b); i += size {
			_, _ = d.Write(b[i:min(i+size, len(b))])
		}
		d.Close()
		if len(jobs) != len(whole) {
			t.Fatalf("size %d: %d jobs, want %d", size, len(jobs), len(whole))
		}
		for i := range jobs {
			if jobs[i].Text() != whole[i].Text() || string(jobs[i].Raw) != string(whole[i].Raw) {
				t.Fatalf("size %d: job %d = %q, want %q", size, i, jobs[i].Text(), whole[i].Text())
			}
		}
	}
	if len(whole) != 2 || whole[0].Text() != "NOTE 1\nTOTAL 3" || whole[0].Unknown != 0 {
		t.Fatalf("whole = %+v", whole)
	}
}
