package capture

import (
	"fmt"
	"net"
	"slices"
	"testing"
	"time"
)

// sink is a printer that reads everything and says when n bytes came.
func sink(b *testing.B) (string, chan int) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	got := make(chan int, 1024)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := conn.Read(buf)
					if n > 0 {
						got <- n
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	b.Cleanup(func() { ln.Close() })
	return ln.Addr().String(), got
}

// roundTrips writes note b.N times on conn and times each until the
// printer has it all; it reports p50 and p99.
func roundTrips(b *testing.B, conn net.Conn, got chan int, note []byte, name string) {
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := conn.Write(note); err != nil {
			b.Fatal(err)
		}
		for n := 0; n < len(note); n += <-got {
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), name+"-p50-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), name+"-p99-µs")
}

// BenchmarkPassThroughLatency is the time from the till's write to the
// printer's read of a note, straight to the printer and through capture
// (loopback): the difference is what capture adds to a print.
func BenchmarkPassThroughLatency(b *testing.B) {
	note := escposNote(specNote...)
	b.Run("direct", func(b *testing.B) {
		addr, got := sink(b)
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		roundTrips(b, conn, got, note, "direct")
	})
	b.Run("capture", func(b *testing.B) {
		r := benchRig(b)
		addr, got := sink(b)
		r.cfg.Printer.Forward = addr
		r.startCapture(b)
		conn, err := net.Dial("tcp", r.addr)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		roundTrips(b, conn, got, note, "capture")
	})
}

// BenchmarkJobsPerSecond is how many notes, one connection each, one
// capture port prints and reads into new tickets, one after the other.
func BenchmarkJobsPerSecond(b *testing.B) {
	r := benchRig(b)
	addr, got := sink(b)
	r.cfg.Printer.Forward = addr
	r.startCapture(b)
	notes := make([][]byte, b.N)
	for i := range notes {
		notes[i] = escposNote(fmt.Sprintf("NOTE %d", i+1), "1 X PLAT 23,50", "1 X VIN 30,00", "TOTAL 53,50")
	}
	b.ResetTimer()
	start := time.Now()
	for i, n := range notes {
		// One job after the other, as a till prints: each is on paper
		// and read into its ticket before the next is sent.
		r.print(b, n)
		for k := 0; k < len(n); k += <-got {
		}
		for r.capt.Status().Read < i+1 {
			time.Sleep(50 * time.Microsecond)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

// BenchmarkForwarderBytes is the bytes per second one connection passes
// through capture (a till sending large images).
func BenchmarkForwarderBytes(b *testing.B) {
	r := benchRig(b)
	addr, got := sink(b)
	r.cfg.Printer.Forward = addr
	r.startCapture(b)
	conn, err := net.Dial("tcp", r.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	// A raster image of 64 KiB of data, then its next one, and so on.
	chunk := append([]byte{0x1d, 'v', '0', 0, 0x00, 0x02, 0x80, 0x00}, make([]byte, 512*128)...)
	b.SetBytes(int64(len(chunk)))
	done := make(chan struct{})
	total := int64(b.N) * int64(len(chunk))
	go func() {
		for n := int64(0); n < total; n += int64(<-got) {
		}
		close(done)
	}()
	b.ResetTimer()
	for range b.N {
		if _, err := conn.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	<-done
}

// benchRig is a rig whose capture the benchmark starts itself.
func benchRig(b *testing.B) *rig {
	r := newRig(b, testLimits(), true)
	r.stopCapture()
	<-r.captureDone
	return r
}
