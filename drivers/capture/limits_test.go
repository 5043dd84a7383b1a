package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// refused reports whether the capture closed conn without a byte.
func refused(t *testing.T, conn net.Conn) bool {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err := conn.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func TestLimitConnectionsPerTill(t *testing.T) {
	lim := testLimits()
	lim.MaxConnsPerTill = 1
	r := newRig(t, lim, true)
	a, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Write([]byte("NOTE 1\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first connection to reach the printer", func() bool { return len(r.printer.Bytes()) > 0 })
	b, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !refused(t, b) {
		t.Fatal("a second connection from the same till was taken")
	}
}

func TestLimitSpoolFilesAndConnectionBytes(t *testing.T) {
	lim := testLimits()
	lim.MaxSpoolFiles = 1
	lim.MaxConnBytes = 200
	r := newRig(t, lim, false)
	job := escposNote("NOTE 1", "1 PLAT 1,00", "TOTAL 1,00")
	r.print(t, job)
	waitFor(t, "the job in the spool", func() bool { return r.capt.Status().Waiting == 1 })
	conn, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if !refused(t, conn) {
		t.Fatal("a job was taken by a full spool")
	}
	r.startPrinter(t)
	waitFor(t, "the spool to empty", func() bool { return r.capt.Status().Waiting == 0 })
	r.stopPrinter()
	// Larger than MaxConnBytes while the printer is off: dropped, said so
	// by closing the connection.
	big := bytes.Repeat([]byte("X"), 300)
	c2, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	_, _ = c2.Write(big)
	_ = c2.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.ReadAll(c2); err != nil {
		t.Fatal(err)
	}
	if n := r.capt.Status().Waiting; n != 0 {
		t.Fatalf("%d files wait, want the large job dropped", n)
	}
}

// A till that sends its job and keeps the connection open: the idle
// timeout ends the job.
func TestLimitIdleTimeoutEndsTheJob(t *testing.T) {
	lim := testLimits()
	lim.IdleTimeout = 50 * time.Millisecond
	r := newRig(t, lim, true)
	conn, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("NOTE 3\n1 PLAT 2,00\nTOTAL 2,00\n")); err != nil {
		t.Fatal(err)
	}
	if jobs := r.jobs(t, 1); jobs[0].Status != JobCreated {
		t.Fatalf("job = %+v", jobs[0])
	}
}

// A store that stalls never holds a print: past 64 jobs waiting to be
// read, the next are printed and not read, and the status counts them.
func TestLimitJobsWaitingToBeRead(t *testing.T) {
	r := newRig(t, testLimits(), true)
	r.stopCapture()
	<-r.captureDone
	release := make(chan struct{})
	submit := r.cfg.Submit
	r.cfg.Submit = func(ctx context.Context, till string, in gateway.TicketInput) (gateway.Ticket, gateway.SubmitResult, error) {
		<-release
		return submit(ctx, till, in)
	}
	r.startCapture(t)
	defer close(release)
	var all []byte
	for i := range 70 {
		all = append(all, escposNote(fmt.Sprintf("NOTE %d", i+1), "1 PLAT 1,00", "TOTAL 1,00")...)
	}
	r.print(t, all)
	waitFor(t, "every byte printed", func() bool { return bytes.Equal(r.printer.Bytes(), all) })
	waitFor(t, "the jobs not read counted", func() bool { return r.capt.Status().NotRead >= 70-64-1 })
}
