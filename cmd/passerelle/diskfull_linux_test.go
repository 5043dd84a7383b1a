//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/terminalsim"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// TestDiskFull runs a real gateway whose data directory is on a small
// tmpfs of its own (a private mount namespace: unshare -m, as root), fills
// the disk, and checks what a till, a terminal, /healthz and the admin page
// get; then frees the space and checks that everything works again and
// that nothing acknowledged was lost nor anything refused half written.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to mount a tmpfs in a mount namespace of its own (unshare -m)")
	}
	for _, tool := range []string{"unshare", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (util-linux)", tool)
		}
	}
	bin := buildPasserelle(t)
	mnt := t.TempDir() // the mount point; the tmpfs is seen by the gateway alone
	data := filepath.Join(mnt, "data")
	script := `mount -t tmpfs -o size=4m tmpfs "$1" && "$2" till add Caisse --data "$3" && exec "$2" run --data "$3" --no-tls --listen 127.0.0.1:0`
	g := &gatewayProc{cmd: exec.Command("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", mnt, bin, data),
		log: &procLog{url: make(chan string, 1)}, exited: make(chan struct{})}
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		g.cmd.Wait()
		close(g.exited)
	}()
	t.Cleanup(func() { g.kill(t) })
	select {
	case g.url = <-g.log.url:
		g.url = strings.TrimSuffix(g.url, "/")
	case <-g.exited:
		t.Fatalf("gateway exited before starting:\n%s", g.log.String())
	case <-time.After(time.Minute): // a bound on a gateway that never starts, not a speed check
		t.Fatalf("gateway did not start:\n%s", g.log.String())
	}
	key := regexp.MustCompile(`ptk_\S+`).FindString(g.log.String())
	// Through /proc/PID/root the test sees the gateway's mount namespace:
	// its tmpfs, to fill and free, and its database, to check.
	inside := filepath.Join("/proc", strconv.Itoa(g.cmd.Process.Pid), "root", data)
	nsRun := func(args ...string) string {
		cmd := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(g.cmd.Process.Pid), "-m", bin}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}

	hc := &http.Client{Timeout: 30 * time.Second}
	ticketFor := func(ref, table string) gateway.TicketInput {
		return gateway.TicketInput{Ref: ref, Table: table, Currency: "EUR", Total: 2000,
			Lines: []gateway.Line{{Label: "MENU DU JOUR", Qty: 1, UnitPrice: 2000, VATRate: 1000}}}
	}
	acked := []string{}
	for i := range 5 {
		ref := "A" + strconv.Itoa(i)
		if code, err := postTicket(hc, g.url, key, ticketFor(ref, strconv.Itoa(10+i))); err != nil || code != http.StatusCreated {
			t.Fatalf("post %s: %d %v", ref, code, err)
		}
		acked = append(acked, ref)
	}
	// The manager logs in, and a terminal pairs, while there is room.
	nsAdmin := exec.Command("nsenter", "-t", strconv.Itoa(g.cmd.Process.Pid), "-m", bin, "admin", "reset-password", "--password-stdin", "--data", data)
	nsAdmin.Stdin = strings.NewReader("the shop's password\n")
	if out, err := nsAdmin.CombinedOutput(); err != nil {
		t.Fatalf("reset-password: %v\n%s", err, out)
	}
	admin := adminClient(t, g.url, "the shop's password")
	code := nsRun("terminal", "code", "--data", data)
	code = code[strings.LastIndex(code, "\n")+1:]
	term := dialTerminal(t, terminalsim.Options{URL: g.url, Code: code, StateFile: filepath.Join(t.TempDir(), "t.json"), Serial: "FULL1"})

	// Fill the disk.
	filler := filepath.Join(filepath.Dir(inside), "filler")
	fill(t, filler)

	// A till: the first write that finds no room is refused with a 507.
	var problemBody string
	refused := ""
	for i := range 500 {
		ref := "B" + strconv.Itoa(i)
		status, body := postTicketBody(t, hc, g.url, key, ticketFor(ref, strconv.Itoa(100+i)))
		if status == http.StatusCreated {
			acked = append(acked, ref) // the WAL still had room
			continue
		}
		if status != http.StatusInsufficientStorage {
			t.Fatalf("post %s on a full disk: %d %s", ref, status, body)
		}
		refused, problemBody = ref, body
		break
	}
	if refused == "" {
		t.Fatal("500 tickets posted on a full disk, none refused")
	}
	t.Logf("what a till gets on a full disk: 507 %s", problemBody)
	var p struct{ Type, Title, Detail string }
	if err := json.Unmarshal([]byte(problemBody), &p); err != nil || p.Type != "urn:passerelle:problem:storage-full" || !strings.Contains(p.Detail, "disk is full") {
		t.Errorf("problem: %+v %v", p, err)
	}

	// /healthz and the admin page say why.
	resp, err := hc.Get(g.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(hb), `"store":"full"`) || !strings.Contains(string(hb), "disk full since") {
		t.Errorf("/healthz on a full disk: %d %s", resp.StatusCode, hb)
	}
	if page := adminGet(t, admin, g.url+"/"); !strings.Contains(page, `data-testid="disk-full"`) {
		t.Errorf("the dashboard does not say the disk is full:\n%s", page)
	}

	// A terminal: the payment of table 10 (A0) cannot start; it is told
	// why and is at rest.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := term.Start("F2"); err != nil {
		t.Fatal(err)
	}
	steps := []struct{ kind, answer string }{{gateway.ScreenInput, "10"}, {gateway.ScreenTicket, gateway.ChoiceFull}}
	for _, st := range steps {
		m, err := nextOf(ctx, term, "screen")
		if err != nil || m.Kind != st.kind {
			t.Fatalf("screen %+v, %v", m, err)
		}
		if err := term.Answer(st.answer); err != nil {
			t.Fatal(err)
		}
	}
	done, err := nextOf(ctx, term, "done")
	if err != nil || done.Title != "MÉMOIRE PLEINE" {
		t.Fatalf("the terminal shows %+v (%v), want MÉMOIRE PLEINE", done, err)
	}
	if _, err := nextOf(ctx, term, "pay"); err == nil || !strings.Contains(err.Error(), "storage_full") {
		t.Errorf("the terminal was not told storage_full: %v", err)
	}

	// Space is freed: everything works again.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if code, err := postTicket(hc, g.url, key, ticketFor(refused, "200")); err != nil || code != http.StatusCreated {
		t.Fatalf("the refused ticket, sent again once space is freed: %d %v", code, err)
	}
	acked = append(acked, refused)
	if id, err := payTableFull(term, "10"); err != nil || id == "" {
		t.Fatalf("pay once space is freed: %q %v", id, err)
	}
	resp, err = hc.Get(g.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz once space is freed: %d", resp.StatusCode)
	}
	if page := adminGet(t, admin, g.url+"/"); strings.Contains(page, `data-testid="disk-full"`) {
		t.Error("the dashboard still says the disk is full")
	}

	// Nothing lost, nothing half written: a copy of the database and its
	// WAL, taken with the gateway stopped (SQLite, resolving the path's
	// links, cannot open it through /proc/PID/root).
	check := t.TempDir()
	g.cmd.Process.Signal(syscall.SIGSTOP)
	for _, name := range []string{dbFile, dbFile + "-wal"} {
		b, err := os.ReadFile(filepath.Join(inside, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(check, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	g.cmd.Process.Signal(syscall.SIGCONT)
	st, err := store.Open(context.Background(), filepath.Join(check, dbFile), slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if res, err := st.IntegrityCheck(context.Background()); err != nil || res != "ok" {
		t.Errorf("integrity_check: %q %v", res, err)
	}
	tickets, err := st.Tickets(context.Background(), gateway.TicketQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]gateway.Ticket{}
	for _, tk := range tickets {
		stored[tk.Ref] = tk
	}
	for _, ref := range acked {
		if _, ok := stored[ref]; !ok {
			t.Errorf("ticket %s, acknowledged, is lost", ref)
		}
	}
	if len(stored) != len(acked) {
		t.Errorf("%d tickets stored, %d acknowledged", len(stored), len(acked))
	}
	if tk := stored[refused]; tk.Table != "200" || tk.Version != 1 {
		t.Errorf("the refused ticket, sent again: %+v", tk)
	}
	evs, err := st.EventsAfter(context.Background(), gateway.EventQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("event log gap at %d", i+1)
		}
	}
	pays, err := st.PaymentsInProgress(context.Background())
	if err != nil || len(pays) != 0 {
		t.Errorf("payments in progress: %+v %v", pays, err)
	}
}

// fill writes path until the disk has no room left.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		_, err := f.Write(buf)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// The last bytes too: a 64 KiB write that did not fit leaves room.
	for {
		if _, err := f.Write(buf[:512]); err != nil {
			return
		}
	}
}

func postTicketBody(t *testing.T, hc *http.Client, base, key string, in gateway.TicketInput) (int, string) {
	t.Helper()
	b, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/tickets", strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusInsufficientStorage && (resp.Header.Get("Content-Type") != "application/problem+json" || resp.Header.Get("Retry-After") == "") {
		t.Errorf("507 with Content-Type %q, Retry-After %q", resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"))
	}
	return resp.StatusCode, string(body)
}

// adminClient logs in to the admin page and keeps the session cookie.
func adminClient(t *testing.T, base, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.PostForm(base+"/login", url.Values{"password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s", resp.Status)
	}
	return c
}

func adminGet(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	return string(b)
}
