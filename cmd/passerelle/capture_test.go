package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/capture"
)

// printTo sends job to a capture port as a till does, retrying the
// connection while the gateway starts its listener.
func printTo(t *testing.T, addr string, job []byte) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			_, err = conn.Write(job)
			if cerr := conn.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the capture port never answered: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCaptureSpoolSurvivesKill9: the printer is off, the till prints three
// notes, the gateway is killed with SIGKILL while they wait in the spool;
// the printer comes back, the gateway restarts: each note is printed once,
// in order, and none is read twice.
func TestCaptureSpoolSurvivesKill9(t *testing.T) {
	bin := buildPasserelle(t)
	data := t.TempDir()
	listen, forward := freeAddr(t), freeAddr(t)
	conf := fmt.Sprintf("capture:\n  - {name: bar, listen: %q, forward: %q, till: \"Caisse bar\"}\n", listen, forward)
	if err := os.WriteFile(filepath.Join(data, "passerelle.yaml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(data, captureDir, "bar")
	g := startGateway(t, bin, data)
	var want []byte
	for i := range 3 {
		job := []byte(fmt.Sprintf("\x1b@NOTE %d\n1 PLAT %d,00\nTOTAL %d,00\n\x1dV\x00", 100+i, 10+i, 10+i))
		want = append(want, job...)
		printTo(t, listen, job)
		pollUntil(t, "the job in the spool", func() bool { return capture.WaitingFiles(dir) == i+1 })
	}
	pollUntil(t, "the jobs read", func() bool { js, _ := capture.ReadJobs(dir); return len(js) == 3 })
	g.kill(t)

	pl, err := net.Listen("tcp", forward)
	if err != nil {
		t.Fatalf("the printer's address was taken meanwhile: %v", err)
	}
	printer := &capture.SimPrinter{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = printer.Serve(ctx, pl); close(done) }()
	defer func() { cancel(); <-done }()

	g = startGateway(t, bin, data)
	pollUntil(t, "the spool to empty", func() bool { return capture.WaitingFiles(dir) == 0 && len(printer.Bytes()) >= len(want) })
	if got := printer.Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("the printer got %q\nwant %q", got, want)
	}
	js, _ := capture.ReadJobs(dir)
	if len(js) != 3 || printer.Conns() != 3 {
		t.Fatalf("%d jobs read, %d connections to the printer; want 3 and 3", len(js), printer.Conns())
	}
	for _, j := range js {
		if j.Status != capture.JobCreated {
			t.Errorf("job %s: %s %s", j.ID, j.Status, j.Reason)
		}
	}
	g.kill(t)
	if strings.Contains(g.log.String(), "level=ERROR") {
		t.Errorf("the gateway logged errors:\n%s", g.log.String())
	}
}
