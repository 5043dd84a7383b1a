package terminalws_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/terminalws"
)

var (
	idleTerminals = flag.Int("idle-terminals", 0, "TestIdleTerminalsMemory: how many idle terminals to connect (0 skips the test)")
	idleProfiles  = flag.String("idle-profiles", "", "TestIdleTerminalsMemory: a directory to write heap.pprof and goroutine.pprof in")
)

// TestIdleTerminalsMemory is the profile of what idle terminals cost the
// gateway (docs/benchmarks.md, "1 000 idle terminals"): it connects
// -idle-terminals terminals, each paired and welcomed as `sim terminals
// --key none` does, then reports the memory per connection and writes
// the heap and goroutine profiles in -idle-profiles. The terminals are
// bare sockets with no goroutine and no buffer of their own in this
// process, so that what grows is the gateway's.
//
//	go test -run IdleTerminalsMemory -v ./drivers/terminalws/ -args -idle-terminals=1000 -idle-profiles=/tmp/idle
//	go tool pprof -sample_index=inuse_space -top /tmp/idle/heap.pprof
func TestIdleTerminalsMemory(t *testing.T) {
	n := *idleTerminals
	if n == 0 {
		t.Skip("-idle-terminals N runs it")
	}
	e := newEnv(t, envOptions{})
	codes := make([]string, n)
	for i := range codes {
		codes[i] = e.code(t)
	}
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	// One sample per 4 KiB allocated, not per 512 KiB: the profile
	// then tells a connection's few kilobytes apart.
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 4096
	before := memNow()
	// 32 hellos in flight, as the benchmark's --dial-concurrency: the
	// pairings' commits are grouped, and every terminal is in well within
	// the read timeout of the first (none of them answers pings).
	work := make(chan int)
	conns := make(chan net.Conn, n)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := range work {
				c, err := bareTerminal(addr, codes[i], fmt.Sprintf("IDLE%04d", i))
				if err != nil {
					t.Error(err)
					continue
				}
				conns <- c
			}
		})
	}
	for i := range codes {
		work <- i
	}
	close(work)
	wg.Wait()
	close(conns)
	for c := range conns {
		t.Cleanup(func() { c.Close() })
	}
	if t.Failed() {
		t.FailNow()
	}
	// A terminal is welcomed before its session is set up: idle is when
	// every connection's goroutine is in its loop.
	waitUntil(t, "every connection idle in its loop", func() bool { return inLoop(t) == n })
	settled := memNow()
	runtime.GC() // what is live, not what awaits the collector
	live := memNow()
	runtime.GC() // a second cycle: stacks halve at each while mostly unused
	shrunk := memNow()
	per := func(a, b uint64) string { return fmt.Sprintf("%6.0f", (float64(b)-float64(a))/float64(n)) }
	t.Logf("%d idle terminals, bytes per connection (goroutines %+.2f per connection):", n, float64(live.goroutines-before.goroutines)/float64(n))
	t.Logf("%-28s %s %s %s", "", "before GC", " after GC", "after 2 GCs")
	for _, f := range []struct {
		name string
		v    func(m runtime.MemStats) uint64
	}{
		{"heap in use (HeapInuse)", func(m runtime.MemStats) uint64 { return m.HeapInuse }},
		{"heap objects (HeapAlloc)", func(m runtime.MemStats) uint64 { return m.HeapAlloc }},
		{"stacks (StackInuse)", func(m runtime.MemStats) uint64 { return m.StackInuse }},
		// Without BuckHashSys: the profile's own buckets.
		{"runtime (other Sys)", func(m runtime.MemStats) uint64 {
			return m.MSpanInuse + m.MCacheInuse + m.GCSys + m.OtherSys
		}},
		{"total (Sys - HeapReleased)", func(m runtime.MemStats) uint64 { return m.Sys - m.HeapReleased - m.BuckHashSys }},
	} {
		b := f.v(before.m)
		t.Logf("%-28s %9s %9s %11s", f.name, per(b, f.v(settled.m)), per(b, f.v(live.m)), per(b, f.v(shrunk.m)))
	}
	if dir := *idleProfiles; dir != "" {
		writeProfile(t, filepath.Join(dir, "heap.pprof"), "heap")
		writeProfile(t, filepath.Join(dir, "goroutine.pprof"), "goroutine")
	}
}

// inLoop counts the goroutines in a connection's loop.
func inLoop(t *testing.T) int {
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
		t.Fatal(err)
	}
	n := 0
	// debug=1 groups the goroutines by stack: "COUNT @ PCs", then a line
	// per frame.
	for group := range strings.SplitSeq(b.String(), "\n\n") {
		var count int
		if _, err := fmt.Sscanf(group, "%d @", &count); err == nil && strings.Contains(group, "terminalws.(*conn).loop+") {
			n += count
		}
	}
	return n
}

type memSample struct {
	m          runtime.MemStats
	goroutines int
}

func memNow() memSample {
	var s memSample
	runtime.ReadMemStats(&s.m)
	s.goroutines = runtime.NumGoroutine()
	return s
}

func writeProfile(t *testing.T, path, name string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		t.Fatal(err)
	}
}

// bareTerminal opens a WebSocket by hand, offering v1.1 and v1 as the
// simulator does, pairs with code and reads the welcome; the socket is
// then left alone (the test ends long before a ping needs an answer).
func bareTerminal(addr, code, serial string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if err := pairBare(c, addr, code, serial); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func pairBare(c net.Conn, addr, code, serial string) error {
	c.SetDeadline(time.Now().Add(wait))
	fmt.Fprintf(c, "GET /ws/terminal HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Protocol: %s, %s\r\n\r\n", addr, terminalws.SubprotocolV11, terminalws.Subprotocol)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return fmt.Errorf("upgrade: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("upgrade: %s", resp.Status)
	}
	m := hello("pairing_code", code)
	m["serial"] = serial // a name of its own: no search for a free one
	h, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := c.Write(maskedText(h)); err != nil {
		return err
	}
	var head [2]byte
	if _, err := io.ReadFull(br, head[:]); err != nil {
		return fmt.Errorf("welcome: %w", err)
	}
	size := int(head[1] & 0x7f)
	if size == 126 {
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return fmt.Errorf("welcome: %w", err)
		}
		size = int(binary.BigEndian.Uint16(ext[:]))
	}
	payload := make([]byte, size)
	if _, err := io.ReadFull(br, payload); err != nil {
		return fmt.Errorf("welcome: %w", err)
	}
	if !bytes.Contains(payload, []byte(`"welcome"`)) {
		return fmt.Errorf("got %s, want a welcome", payload)
	}
	return c.SetDeadline(time.Time{})
}

// maskedText is a client's text frame of p (masked with a zero key, which
// the protocol allows).
func maskedText(p []byte) []byte {
	f := []byte{0x81}
	switch {
	case len(p) < 126:
		f = append(f, 0x80|byte(len(p)))
	default:
		f = append(f, 0x80|126, byte(len(p)>>8), byte(len(p)))
	}
	return append(append(f, 0, 0, 0, 0), p...)
}
