package escpos

import (
	"strings"
	"unicode/utf8"
)

// Limits bound what a decoder keeps of one job. Bytes past them are still
// decoded (a job's end is still found) but not kept, and the job says it
// was truncated.
type Limits struct {
	MaxJobBytes  int // raw bytes kept per job
	MaxLines     int // lines kept per job
	MaxLineRunes int // characters kept per line
	MaxNULData   int // bytes of a NUL-ended parameter (barcode, tabs) before it is given up
}

// DefaultLimits fit any receipt: a note is a few kilobytes, its logo a
// few tens, a line at most 64 characters on 80 mm paper in the smallest
// font.
var DefaultLimits = Limits{MaxJobBytes: 1 << 20, MaxLines: 2000, MaxLineRunes: 256, MaxNULData: 512}

// Job is one print job as the paper shows it.
type Job struct {
	Raw       []byte   // the bytes of the job, as the till sent them
	Lines     []string // the printed lines, trailing spaces removed
	Unknown   int      // commands the decoder does not know
	CodePages []string // the code pages the text was printed in
	Cut       bool     // ended by a paper cut
	Truncated bool     // Raw or Lines reached a limit
}

// Text is the job's lines, one per line.
func (j Job) Text() string { return strings.Join(j.Lines, "\n") }

// Decoder cuts a byte stream into jobs. It is not safe for concurrent use.
type Decoder struct {
	lim  Limits
	cps  *CodePages
	def  *CodePage
	emit func(Job)

	cp      *CodePage
	pend    []byte   // a command's header read so far
	cmdAt   int      // where in raw the pending command started
	skip    int64    // data bytes still to skip
	nul     bool     // skipping up to a NUL
	nulLeft int      // bytes a NUL-ended parameter may still take
	rec     *records // records still to skip
	recHdr  []byte   // a record's header read so far

	job     Job
	line    []rune
	col     int
	printed bool
	cps0    map[string]bool
}

// NewDecoder returns a decoder that starts in code page def (cp437 when
// nil) and calls emit with each job as it ends.
func NewDecoder(cps *CodePages, def *CodePage, lim Limits, emit func(Job)) *Decoder {
	if def == nil {
		def = cps.ByName("cp437")
	}
	d := &Decoder{lim: lim, cps: cps, def: def, emit: emit, cp: def}
	return d
}

// Write decodes p. It never fails.
func (d *Decoder) Write(p []byte) (int, error) {
	for i := 0; i < len(p); {
		if d.skip > 0 {
			n := int64(len(p) - i)
			if n > d.skip {
				n = d.skip
			}
			d.keep(p[i : i+int(n)])
			d.skip -= n
			i += int(n)
			continue
		}
		b := p[i]
		d.keep(p[i : i+1])
		i++
		switch {
		case d.nul:
			d.nulLeft--
			if b == 0 || d.nulLeft <= 0 {
				d.nul = false
			}
		case d.rec != nil:
			d.record(b)
		case len(d.pend) > 0 || b == esc || b == gs || b == fs || b == dle:
			if len(d.pend) == 0 {
				d.cmdAt = len(d.job.Raw) - 1
			}
			d.pend = append(d.pend, b)
			if c, ok := parse(d.pend); ok {
				d.pend = d.pend[:0]
				d.command(c)
			}
		default:
			d.text(b)
		}
	}
	return len(p), nil
}

// keep adds b to the job's raw bytes, up to the limit.
func (d *Decoder) keep(b []byte) {
	room := d.lim.MaxJobBytes - len(d.job.Raw)
	if len(b) > room {
		b = b[:max(room, 0)]
		d.job.Truncated = true
	}
	d.job.Raw = append(d.job.Raw, b...)
}

// record reads one byte of ESC & or FS q's records.
func (d *Decoder) record(b byte) {
	d.recHdr = append(d.recHdr, b)
	if len(d.recHdr) < d.rec.hdr {
		return
	}
	d.skip = d.rec.size(d.recHdr)
	d.recHdr = d.recHdr[:0]
	d.rec.left--
	if d.rec.left <= 0 {
		d.rec = nil
	}
}

func (d *Decoder) command(c command) {
	if c.unknown {
		d.job.Unknown++
	}
	d.skip = c.data
	if c.nul {
		d.nul, d.nulLeft = true, d.lim.MaxNULData
	}
	if c.rec != nil && c.rec.left > 0 {
		d.rec = c.rec
	}
	switch c.act {
	case actInit:
		// A new job starts at ESC @ once something was printed; ESC @
		// belongs to it. The code page goes back to the printer's.
		if d.printed && !d.job.Truncated {
			cmd := append([]byte(nil), d.job.Raw[d.cmdAt:]...)
			d.job.Raw = d.job.Raw[:d.cmdAt]
			d.end(false)
			d.job.Raw = cmd
		} else if d.printed {
			d.end(false)
		}
		d.cp = d.def
	case actCut:
		d.end(true)
	case actCodePage:
		if cp := d.cps.ByNumber(c.arg); cp != nil {
			d.cp = cp
		} else {
			d.job.Unknown++
		}
	case actFeed:
		d.newline()
		for range min(int(c.arg), 8) {
			d.newline()
		}
	}
}

func (d *Decoder) text(b byte) {
	switch {
	case b == '\n' || b == 0x0C:
		d.newline()
	case b == '\t':
		for {
			d.add(' ')
			if d.col%8 == 0 {
				break
			}
		}
	case b < 0x20 || b == 0x7F:
		// CR, and the control bytes a printer ignores outside commands.
	default:
		r := d.cp.Rune(b)
		if r == utf8.RuneError {
			r = '?'
		}
		d.add(r)
		if r != ' ' {
			d.printed = true
			if d.cps0 == nil {
				d.cps0 = map[string]bool{}
			}
			if !d.cps0[d.cp.Name] {
				d.cps0[d.cp.Name] = true
				d.job.CodePages = append(d.job.CodePages, d.cp.Name)
			}
		}
	}
}

func (d *Decoder) add(r rune) {
	d.col++
	if len(d.line) >= d.lim.MaxLineRunes {
		d.job.Truncated = true
		return
	}
	d.line = append(d.line, r)
}

// newline ends the current line.
func (d *Decoder) newline() {
	if len(d.job.Lines) >= d.lim.MaxLines {
		d.job.Truncated = true
	} else {
		d.job.Lines = append(d.job.Lines, strings.TrimRight(string(d.line), " "))
	}
	d.line, d.col = d.line[:0], 0
}

// end emits the job if anything was printed, and starts the next one.
func (d *Decoder) end(cut bool) {
	if len(d.line) > 0 {
		d.newline()
	}
	if d.printed {
		d.job.Cut = cut
		d.job.Lines = trimBlank(d.job.Lines)
		d.emit(d.job)
		d.job = Job{}
		d.printed = false
		d.cps0 = nil
		return
	}
	// A cut with nothing printed: the bytes stay for the next job.
	d.job.Lines = d.job.Lines[:0]
}

// Close ends the stream: what was printed since the last job is a job.
func (d *Decoder) Close() {
	d.end(false)
	d.pend, d.skip, d.nul, d.rec = d.pend[:0], 0, false, nil
}

// trimBlank removes the blank lines at the start and end.
func trimBlank(lines []string) []string {
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// Decode reads whole jobs from b, as if a till had sent b and closed the
// connection.
func Decode(b []byte, cps *CodePages, def *CodePage, lim Limits) []Job {
	var jobs []Job
	d := NewDecoder(cps, def, lim, func(j Job) { jobs = append(jobs, j) })
	_, _ = d.Write(b)
	d.Close()
	return jobs
}
