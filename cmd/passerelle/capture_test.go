package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/capture"
	"github.com/passerelle/passerelle/drivers/escpos"
	"github.com/passerelle/passerelle/drivers/notes"
	"github.com/passerelle/passerelle/gateway"
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

// tillNote is the brief's note as the npm encoder
// @point-of-sale/receipt-printer-encoder prints it (styles, a logo, a QR
// code, a cut), or, without node and the packages, the same note by hand.
func tillNote(t *testing.T) []byte {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("..", "..", "drivers", "escpos", "testdata", "npm"))
	if _, err := exec.LookPath("node"); err == nil {
		if _, err := os.Stat(filepath.Join(dir, "node_modules")); err == nil {
			out := t.TempDir()
			cmd := exec.Command("node", filepath.Join(dir, "print.mjs"), out)
			cmd.Dir = dir
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("node print.mjs: %v\n%s", err, b)
			}
			b, err := os.ReadFile(filepath.Join(out, "rpe-brief-cp858-column.bin"))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Log("node or the npm encoders are missing (npm ci in drivers/escpos/testdata/npm): the note is printed by hand")
	return []byte("\x1b@\x1bt\x13TABLE 5\nNOTE N\xf8 1253\nSERVEUR : Julie\n1 X PLAT N\xf84  23,50\n" +
		"1 X PLAT N\xf81  30,00\nNET \xb7 PAYER :  53,50\nTVA 10,00%  4,86\n\x1dV\x41\x03")
}

// TestCaptureFullPath: the till prints the brief's note through capture;
// the printer gets every byte; a terminal finds it with F2 and table 5 and
// pays it; the payment flows back on the event stream, under the
// capture's till.
func TestCaptureFullPath(t *testing.T) {
	bin := buildPasserelle(t)
	data := t.TempDir()
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	printer := &capture.SimPrinter{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = printer.Serve(ctx, pl); close(done) }()
	defer func() { cancel(); <-done }()
	listen := freeAddr(t)
	conf := fmt.Sprintf("capture:\n  - {name: bar, listen: %q, forward: %q, till: \"Caisse bar\"}\n", listen, pl.Addr())
	if err := os.WriteFile(filepath.Join(data, "passerelle.yaml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "till", "add", "Caisse admin", "--admin", "--data", data).Output()
	if err != nil {
		t.Fatalf("till add --admin: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	admin := strings.TrimSpace(lines[len(lines)-1])
	g := startGateway(t, bin, data)

	note := tillNote(t)
	printTo(t, listen, note)
	pollUntil(t, "the printer to print the note", func() bool { return bytes.Equal(printer.Bytes(), note) })
	dir := filepath.Join(data, captureDir, "bar")
	var jobs []capture.Job
	pollUntil(t, "the note read", func() bool { jobs, _ = capture.ReadJobs(dir); return len(jobs) == 1 })
	if jobs[0].Status != capture.JobCreated {
		t.Fatalf("job %s: %s\n%s", jobs[0].Status, jobs[0].Reason, jobs[0].Text)
	}

	// The CLI shows the printer and the job while the gateway runs.
	out, err = exec.Command(bin, "capture", "list", "--data", data).Output()
	if err != nil || !strings.Contains(string(out), "bar") || !strings.Contains(string(out), "online") {
		t.Fatalf("capture list: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "capture", "jobs", "--data", data, "--json").Output()
	var listed []capture.Job
	if err != nil || json.Unmarshal(out, &listed) != nil || len(listed) != 1 || listed[0].Read == nil || listed[0].Read.Ref != "1253" {
		t.Fatalf("capture jobs --json: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "capture", "jobs", "--data", data, "--unparsed").Output()
	if err != nil || strings.Contains(string(out), "1253") {
		t.Fatalf("capture jobs --unparsed: %v\n%s", err, out)
	}

	state := filepath.Join(t.TempDir(), "terminal.json")
	r := runSimTerminal(t, bin, "--url", g.url, "--code", simPairingCode(t, bin, data), "--state", state,
		"--script", "F2; 5; full; approve; wait")
	if r.code != 0 || !strings.Contains(r.stdout, "1. Payer 53,50  (full)") {
		t.Fatalf("sim terminal exited %d:\n%s\n%s\ngateway:\n%s", r.code, r.stdout, r.stderr, g.log.String())
	}
	tk := simGetTicket(t, g.url, admin, jobs[0].TicketID)
	if tk.Status != gateway.TicketPaid || tk.Paid != 5350 || tk.Source != gateway.SourceCapture || tk.Till != "Caisse bar" {
		t.Fatalf("ticket after the payment: %+v", tk)
	}
	types := simStreamUntil(t, g.url, admin, gateway.EventTicketPaid)
	want := []string{gateway.EventTicketCreated, gateway.EventPaymentStarted, gateway.EventPaymentApproved, gateway.EventTicketPaid}
	if !slices.Equal(types, want) {
		t.Errorf("events %v, want %v", types, want)
	}
}

// The admin page's template editor saves a template file only when it
// reads the job it is written for; the gateway then loads it by name.
func TestCaptureTemplateSavedOnlyIfItReads(t *testing.T) {
	data := t.TempDir()
	dir := filepath.Join(data, captureDir, "bar")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	job := `{"id":"cjob_1","printer":"bar","status":"unparsed","text":"BON 9\n1 PLAT 12,00\nSOMME 12,00"}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "jobs.jsonl"), []byte(job), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := capture.New(capture.Config{Printer: gateway.CapturePrinter{Name: "bar", Listen: "127.0.0.1:0", Till: "Caisse bar"},
		Dir: dir, Template: notes.Default(), CodePages: escpos.NewCodePages(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Limits: capture.DefaultLimits})
	if err != nil {
		t.Fatal(err)
	}
	v := captureView{[]*capture.Capture{c}, data}
	ctx := context.Background()
	if _, _, try, err := v.TryTemplate(ctx, "cjob_1", ""); err != nil || try.Error == "" {
		t.Fatalf("the default read the note: %+v, %v", try, err)
	}
	var ve *gateway.ValidationError
	if _, err := v.SaveTemplate(ctx, "bon", "cjob_1", notes.DefaultSource()); !errors.As(err, &ve) {
		t.Fatalf("a template that does not read the note was saved: %v", err)
	}
	src := "name: bon\nref: ['^BON (?P<v>\\d+)$']\nline: ['^(?P<qty>\\d+) (?P<label>.+) {amount}$']\ntotal: ['^SOMME {amount}$']\n"
	if _, err := v.SaveTemplate(ctx, "../x", "cjob_1", src); !errors.As(err, &ve) {
		t.Fatalf("a bad name was taken: %v", err)
	}
	try, err := v.SaveTemplate(ctx, "bon", "cjob_1", src)
	if err != nil || try.Ref != "9" || try.Total != 1200 {
		t.Fatalf("save: %+v, %v", try, err)
	}
	tpl, err := loadTemplate(data, "bon")
	if err != nil || tpl.Name != "bon" {
		t.Fatalf("load: %v", err)
	}
	if _, _, _, err := v.TryTemplate(ctx, "nope", ""); !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("unknown job: %v", err)
	}
}
