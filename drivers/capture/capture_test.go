package capture

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// escposNote prints lines as a simple till does, with a cut.
func escposNote(lines ...string) []byte {
	b := []byte("\x1b@\x1bt\x13\x1ba\x01\x1d!\x11LE RELAIS\n\x1d!\x00\x1ba\x00")
	for _, l := range lines {
		b = append(b, cp858(l)...)
		b = append(b, '\n')
	}
	return append(b, "\n\n\x1dV\x41\x03"...)
}

// cp858 encodes the few accented letters the tests use.
func cp858(s string) []byte {
	r := strings.NewReplacer("À", "\xb7", "°", "\xf8", "€", "\xd5", "é", "\x82", "è", "\x8a", "ê", "\x88")
	return []byte(r.Replace(s))
}

var specNote = []string{"TABLE 5", "NOTE N° 1253", "SERVEUR : Julie", "1 X PLAT N°4          23,50",
	"1 X PLAT N°1          30,00", "NET À PAYER :         53,50", "TVA 10,00%             4,86"}

func TestPassThroughAndTicket(t *testing.T) {
	r := newRig(t, testLimits(), true)
	job := escposNote(specNote...)
	r.print(t, job)
	waitFor(t, "the printer to print the job", func() bool { return bytes.Equal(r.printer.Bytes(), job) })
	jobs := r.jobs(t, 1)
	if jobs[0].Status != JobCreated || jobs[0].Read == nil || jobs[0].Read.Ref != "1253" {
		t.Fatalf("job = %+v", jobs[0])
	}
	ts := r.ticketsOf(t)
	if len(ts) != 1 || ts[0].Source != gateway.SourceCapture || ts[0].Total != 5350 || ts[0].Table != "5" || ts[0].Till != tillName {
		t.Fatalf("tickets = %+v", ts)
	}
}

func TestStatusAnswersReachTheTill(t *testing.T) {
	r := newRig(t, testLimits(), true)
	conn, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte{0x10, 0x04, 0x01}); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var b [1]byte
	if _, err := conn.Read(b[:]); err != nil || b[0] != 0x16 {
		t.Fatalf("status = %#x, %v", b[0], err)
	}
}

func TestOfflinePrinterThreeJobsInOrderOnce(t *testing.T) {
	r := newRig(t, testLimits(), false)
	var want []byte
	for i, ref := range []string{"1", "2", "3"} {
		job := escposNote("NOTE "+ref, "1 PLAT 1"+ref+",00", "TOTAL 1"+ref+",00")
		want = append(want, job...)
		r.print(t, job)
		waitFor(t, "the job in the spool", func() bool { return r.capt.Status().Waiting == i+1 })
	}
	if st := r.capt.Status(); st.Online == nil || *st.Online || st.Waiting != 3 {
		t.Fatalf("status = %+v", st)
	}
	r.jobs(t, 3) // read into tickets even while the printer is off
	if n := len(r.ticketsOf(t)); n != 3 {
		t.Fatalf("%d tickets", n)
	}
	r.startPrinter(t)
	waitFor(t, "the spool to empty", func() bool { return r.capt.Status().Waiting == 0 })
	if got := r.printer.Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("the printer got %d bytes, want the 3 jobs in order (%d bytes)", len(got), len(want))
	}
	if st := r.capt.Status(); st.Online == nil || !*st.Online {
		t.Fatalf("status = %+v", st)
	}
	// A job after the printer is back goes straight through.
	job := escposNote("NOTE 4", "1 PLAT 4,00", "TOTAL 4,00")
	r.print(t, job)
	waitFor(t, "the fourth job", func() bool { return bytes.Equal(r.printer.Bytes(), append(want, job...)) })
}

// The process stopped with jobs in the spool (the files are all that
// survives a kill -9): a new capture over the folder prints them, in
// order, once, and reads nothing twice.
func TestSpoolSurvivesARestart(t *testing.T) {
	r := newRig(t, testLimits(), false)
	var want []byte
	for i := range 3 {
		job := escposNote("NOTE 7"+string(rune('0'+i)), "1 PLAT 5,00", "TOTAL 5,00")
		want = append(want, job...)
		r.print(t, job)
		waitFor(t, "the job in the spool", func() bool { return r.capt.Status().Waiting == i+1 })
	}
	r.jobs(t, 3)
	r.stopCapture()
	<-r.captureDone
	// A connection cut by the crash leaves a .part file: dropped.
	if err := os.WriteFile(filepath.Join(r.dir, "spool", "000000000099.part"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.startPrinter(t)
	r.startCapture(t)
	waitFor(t, "the spool to empty", func() bool { return r.capt.Status().Waiting == 0 })
	if got := r.printer.Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("the printer got %q, want %q", got, want)
	}
	if jobs, _ := ReadJobs(r.dir); len(jobs) != 3 {
		t.Fatalf("%d jobs recorded, want 3", len(jobs))
	}
}

func TestReprintAndUpdatedNote(t *testing.T) {
	r := newRig(t, testLimits(), true)
	r.print(t, escposNote(specNote...))
	r.print(t, escposNote(specNote...))
	jobs := r.jobs(t, 2)
	if jobs[0].Status != JobCreated || jobs[1].Status != JobUnchanged || jobs[0].TicketID != jobs[1].TicketID {
		t.Fatalf("jobs = %s, %s", jobs[0].Status, jobs[1].Status)
	}
	updated := []string{"TABLE 5", "NOTE N° 1253", "1 X PLAT N°4 23,50", "1 X PLAT N°1 30,00", "2 X CAFÉ 5,00", "NET À PAYER : 58,50"}
	r.print(t, escposNote(updated...))
	jobs = r.jobs(t, 3)
	ts := r.ticketsOf(t)
	if jobs[2].Status != JobUpdated || len(ts) != 1 || ts[0].Total != 5850 || ts[0].Version != 2 {
		t.Fatalf("job %s, tickets %+v", jobs[2].Status, ts)
	}
}

func TestUnparsedAndCardNumber(t *testing.T) {
	r := newRig(t, testLimits(), true)
	bad := escposNote("NOTE 5", "1 PLAT 10,00", "1 VIN 5,00", "TOTAL 16,00")
	r.print(t, bad)
	jobs := r.jobs(t, 1)
	if jobs[0].Status != JobUnparsed || !strings.Contains(jobs[0].Text, "TOTAL 16,00") || jobs[0].Read != nil {
		t.Fatalf("job = %+v", jobs[0])
	}
	card := escposNote("NOTE 6", "CB 4111 1111 1111 1111", "1 PLAT 10,00", "TOTAL 10,00")
	r.print(t, card)
	// The card job is forwarded, and then one more job to know it was read.
	last := escposNote("NOTE 7", "1 PLAT 3,00", "TOTAL 3,00")
	r.print(t, last)
	jobs = r.jobs(t, 2)
	waitFor(t, "every byte printed", func() bool { return bytes.Equal(r.printer.Bytes(), append(append(bad, card...), last...)) })
	if len(jobs) != 2 || strings.Contains(jobs[1].Text, "4111 1111") {
		t.Fatalf("jobs = %+v", jobs)
	}
	b, _ := os.ReadFile(filepath.Join(r.dir, jobsFile))
	if bytes.Contains(b, []byte("4111 1111")) {
		t.Fatal("the card number is in the job log")
	}
	if ts := r.ticketsOf(t); len(ts) != 1 || ts[0].Ref != "7" {
		t.Fatalf("tickets = %+v", ts)
	}
}

func TestUnknownCommandIsUnparsedButForwarded(t *testing.T) {
	r := newRig(t, testLimits(), true)
	job := append([]byte("\x1b\x01"), escposNote("NOTE 8", "1 PLAT 3,00", "TOTAL 3,00")...)
	r.print(t, job)
	jobs := r.jobs(t, 1)
	waitFor(t, "the job printed", func() bool { return bytes.Equal(r.printer.Bytes(), job) })
	if jobs[0].Status != JobUnparsed || len(r.ticketsOf(t)) != 0 {
		t.Fatalf("job = %+v", jobs[0])
	}
}
