package escpos

// The bytes that start a command.
const (
	esc = 0x1B
	gs  = 0x1D
	fs  = 0x1C
	dle = 0x10
)

// What a command does to the decoder, beyond being skipped.
const (
	actNone     = iota
	actInit     // ESC @: a new job once text was printed
	actCut      // GS V, ESC i, ESC m: the job ends
	actCodePage // ESC t n
	actFeed     // ESC d n: n line feeds
)

// command is what parse read of the command at the start of a buffer.
type command struct {
	hdr     int   // bytes before the data, the whole command when data is 0
	data    int64 // bytes of data after the header
	nul     bool  // the data ends at a NUL (included), not at a length
	rec     *records
	act     int
	arg     byte
	unknown bool
}

// records are commands that carry a count of records, each with a short
// header that gives its size: ESC & (user-defined characters) and FS q
// (NV bit images).
type records struct {
	left int                    // records still to read
	hdr  int                    // bytes of a record's header
	size func(hdr []byte) int64 // bytes of the record after its header
}

// parse reads the command at the start of p (p[0] is ESC, GS, FS or DLE).
// ok is false when p is too short to tell its length yet: the caller
// feeds one more byte and asks again, so ok comes exactly when len(p)
// reaches the header's length.
func parse(p []byte) (c command, ok bool) {
	if len(p) < 2 {
		return c, false
	}
	switch p[0] {
	case esc:
		return parseESC(p)
	case gs:
		return parseGS(p)
	case fs:
		return parseFS(p)
	default:
		return parseDLE(p)
	}
}

// fixed is a command of n bytes.
func fixed(p []byte, n int) (command, bool) {
	return command{hdr: n}, len(p) >= n
}

// counted is a command whose header of n bytes ends with its data's
// length, little-endian over the header's last width bytes, times mul.
func counted(p []byte, n, width int, mul int64) (command, bool) {
	if len(p) < n {
		return command{}, false
	}
	var size int64
	for i := n - 1; i >= n-width; i-- {
		size = size<<8 | int64(p[i])
	}
	return command{hdr: n, data: size * mul}, true
}

func unknown() (command, bool) { return command{hdr: 2, unknown: true}, true }

func parseESC(p []byte) (command, bool) {
	switch c := p[1]; c {
	case '@':
		return command{hdr: 2, act: actInit}, true
	case 'i', 'm':
		return command{hdr: 2, act: actCut}, true
	case '2', '<', 'L', 'S', 0x0C, 'v':
		return fixed(p, 2)
	case 't', 'd':
		if len(p) < 3 {
			return command{}, false
		}
		act := actCodePage
		if c == 'd' {
			act = actFeed
		}
		return command{hdr: 3, act: act, arg: p[2]}, true
	case ' ', '!', '-', '3', '=', '?', 'E', 'G', 'J', 'K', 'M', 'R', 'T', 'U', 'V',
		'a', 'e', 'r', '{', '%', 'u', 'I', 'j':
		return fixed(p, 3)
	case '$', '\\', 'c', 'B':
		return fixed(p, 4)
	case 'p':
		return fixed(p, 5)
	case 'W':
		return fixed(p, 10)
	case '*':
		// ESC * m nL nH: nL+nH*256 columns of 1 byte (8-dot modes) or 3
		// (24-dot modes, m 32 and 33).
		if len(p) < 5 {
			return command{}, false
		}
		per := int64(1)
		if p[2] >= 32 {
			per = 3
		}
		return counted(p, 5, 2, per)
	case '(':
		return counted(p, 5, 2, 1)
	case 'D':
		// Tab positions, up to 32, end at a NUL.
		return command{hdr: 2, nul: true}, true
	case '&':
		// ESC & y c1 c2, then for each character x then y*x bytes.
		if len(p) < 5 {
			return command{}, false
		}
		y := int64(p[2])
		n := int(p[4]) - int(p[3]) + 1
		if n < 0 {
			n = 0
		}
		return command{hdr: 5, rec: &records{left: n, hdr: 1, size: func(h []byte) int64 { return y * int64(h[0]) }}}, true
	}
	return unknown()
}

func parseGS(p []byte) (command, bool) {
	switch c := p[1]; c {
	case ':', 0x0C, '<':
		return fixed(p, 2)
	case '!', 'B', 'H', 'I', 'a', 'b', 'f', 'h', 'r', 'w', 'T', 'j', '/', 'Z', 'E':
		return fixed(p, 3)
	case 'L', 'W', '$', '\\', 'P':
		return fixed(p, 4)
	case '^':
		return fixed(p, 5)
	case 'g':
		return fixed(p, 6)
	case 'V':
		if len(p) < 3 {
			return command{}, false
		}
		if m := p[2]; m == 0 || m == 1 || m == '0' || m == '1' {
			return command{hdr: 3, act: actCut}, true
		}
		return command{hdr: 4, act: actCut}, len(p) >= 4
	case 'k':
		if len(p) < 3 {
			return command{}, false
		}
		if p[2] <= 6 {
			return command{hdr: 3, nul: true}, true // form A: data up to a NUL
		}
		return counted(p, 4, 1, 1) // form B: GS k m n d1..dn
	case 'v':
		// GS v 0 m xL xH yL yH: xL+xH*256 bytes by yL+yH*256 dots.
		if len(p) < 8 {
			return command{}, false
		}
		x := int64(p[4]) | int64(p[5])<<8
		y := int64(p[6]) | int64(p[7])<<8
		return command{hdr: 8, data: x * y}, true
	case '(':
		return counted(p, 5, 2, 1)
	case '8':
		// GS 8 L p1 p2 p3 p4: the long form of GS ( L.
		return counted(p, 7, 4, 1)
	case '*':
		// GS * x y: x*8 by y*8 dots, x*y*8 bytes.
		if len(p) < 4 {
			return command{}, false
		}
		return command{hdr: 4, data: int64(p[2]) * int64(p[3]) * 8}, true
	case 'Q':
		// GS Q 0 m xL xH yL yH: a variable-size bit image.
		if len(p) < 8 {
			return command{}, false
		}
		x := int64(p[4]) | int64(p[5])<<8
		y := int64(p[6]) | int64(p[7])<<8
		return command{hdr: 8, data: x * y}, true
	}
	return unknown()
}

func parseFS(p []byte) (command, bool) {
	switch p[1] {
	case '&', '.':
		return fixed(p, 2)
	case '!', '-', 'C', 'W':
		return fixed(p, 3)
	case 'p', 'S':
		return fixed(p, 4)
	case '(':
		return counted(p, 5, 2, 1)
	case '2':
		if len(p) < 4 {
			return command{}, false
		}
		return command{hdr: 4, data: 72}, true
	case 'q':
		// FS q n, then n images: xL xH yL yH and x*y*8 bytes each.
		if len(p) < 3 {
			return command{}, false
		}
		return command{hdr: 3, rec: &records{left: int(p[2]), hdr: 4, size: func(h []byte) int64 {
			return (int64(h[0]) | int64(h[1])<<8) * (int64(h[2]) | int64(h[3])<<8) * 8
		}}}, true
	}
	return unknown()
}

func parseDLE(p []byte) (command, bool) {
	switch p[1] {
	case 0x04, 0x05: // DLE EOT n, DLE ENQ n: status
		return fixed(p, 3)
	case 0x14: // DLE DC4 fn ...
		if len(p) < 3 {
			return command{}, false
		}
		switch p[2] {
		case 7:
			return fixed(p, 4)
		case 8:
			return fixed(p, 7)
		}
		return fixed(p, 5)
	}
	return unknown()
}
