package capture

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
)

// SimPrinter is a network receipt printer for the tour and the tests: it
// keeps (and writes to Out, if set) every byte it receives, and answers
// the real-time status requests (DLE EOT n) as an online printer with
// paper does. It looks for DLE EOT anywhere in the stream, even inside an
// image's data, which a real printer would not: a test printer needs no
// more.
type SimPrinter struct {
	Out io.Writer

	mu    sync.Mutex
	buf   bytes.Buffer
	conns int
}

// Serve takes connections on ln until ctx is done, and closes ln.
func (p *SimPrinter) Serve(ctx context.Context, ln net.Listener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Go(func() { p.serve(ctx, conn) })
	}
}

func (p *SimPrinter) serve(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	p.mu.Lock()
	p.conns++
	p.mu.Unlock()
	buf := make([]byte, 32<<10)
	var prev [2]byte // the last two bytes, for a DLE EOT cut between reads
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			p.mu.Lock()
			p.buf.Write(buf[:n])
			if p.Out != nil {
				_, _ = p.Out.Write(buf[:n])
			}
			p.mu.Unlock()
			for i := range n {
				if prev[0] == dle && prev[1] == 0x04 {
					_, _ = conn.Write([]byte{status(buf[i])})
				}
				prev[0], prev[1] = prev[1], buf[i]
			}
		}
		if err != nil {
			return
		}
	}
}

const dle = 0x10

// status is an online printer's answer to DLE EOT n: the fixed bits of
// each status byte, nothing wrong.
func status(n byte) byte {
	if n == 1 {
		return 0x16 // printer status: online, drawer closed
	}
	return 0x12 // offline cause, error cause, paper: none
}

// Bytes returns everything received so far.
func (p *SimPrinter) Bytes() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.buf.Bytes())
}

// Conns returns how many connections it took.
func (p *SimPrinter) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns
}
