package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// TestBackupWhileRunningThenRestore runs the real commands: `passerelle
// backup` beside a gateway that a till keeps busy, `passerelle restore`
// refused while the gateway runs, then, the gateway killed, the restore,
// and the restarted gateway serves every ticket acknowledged before the
// backup began.
func TestBackupWhileRunningThenRestore(t *testing.T) {
	bin := buildPasserelle(t)
	data := t.TempDir()
	key := addTill(t, bin, data, "Caisse 1")
	g := startGateway(t, bin, data)
	hc := &http.Client{Timeout: 30 * time.Second}

	var acked atomic.Int64 // tickets B-1..B-acked were acknowledged
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for n := 1; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			status, err := postTicket(hc, g.url, key, content(fmt.Sprintf("B-%d", n), 1))
			if err != nil || status != http.StatusCreated {
				t.Errorf("ticket %d: %d %v", n, status, err)
				return
			}
			acked.Store(int64(n))
		}
	})
	waitUntil(t, "50 tickets acknowledged", func() bool { return acked.Load() >= 50 })
	before := acked.Load()
	backup := filepath.Join(t.TempDir(), "shop.db")
	out, err := exec.Command(bin, "backup", backup, "--data", data).CombinedOutput()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	waitUntil(t, "50 tickets more", func() bool { return acked.Load() >= before+50 })
	close(stop)
	wg.Wait()

	out, err = exec.Command(bin, "restore", backup, "--data", data).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "the gateway is running") {
		t.Fatalf("restore beside a running gateway: %v\n%s", err, out)
	}
	if m, _ := filepath.Glob(filepath.Join(data, "*.before-restore-*")); len(m) > 0 {
		t.Fatalf("a refused restore moved the database: %v", m)
	}
	g.kill(t) // its listening record stays behind, stale

	out, err = exec.Command(bin, "restore", "--data", data, backup).CombinedOutput()
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	aside, _ := filepath.Glob(filepath.Join(data, dbFile+".before-restore-*"))
	if len(aside) != 1 || !strings.Contains(string(out), aside[0]) {
		t.Fatalf("the replaced database: %v, output:\n%s", aside, out)
	}

	g = startGateway(t, bin, data)
	refs := listRefs(t, hc, g.url, key)
	for n := int64(1); n <= before; n++ {
		if !refs[fmt.Sprintf("B-%d", n)] {
			t.Fatalf("ticket B-%d, acknowledged before the backup, is not in the restored gateway (%d tickets)", n, len(refs))
		}
	}
	if int64(len(refs)) >= acked.Load() {
		t.Errorf("the restored gateway has %d tickets, as many as after the backup (%d)", len(refs), acked.Load())
	}
}

func TestBackupRestoreRefusals(t *testing.T) {
	bin := buildPasserelle(t)
	data := t.TempDir()
	addTill(t, bin, data, "Caisse 1")
	backup := filepath.Join(t.TempDir(), "shop.db")
	if out, err := exec.Command(bin, "backup", "--data", data, backup).CombinedOutput(); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	notes := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notes, []byte("these are not the tickets you are looking for"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"backup", backup}, "already exists"},
		{[]string{"restore", notes}, "not a Passerelle backup"},
		{[]string{"restore"}, "usage"},
		{[]string{"backup", "a", "b"}, "usage"},
	} {
		before, _ := os.ReadFile(filepath.Join(data, dbFile))
		out, err := exec.Command(bin, append(tc.args, "--data", data)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: %v, want an error saying %q:\n%s", tc.args, err, tc.want, out)
		}
		after, _ := os.ReadFile(filepath.Join(data, dbFile))
		if string(before) != string(after) {
			t.Errorf("%v changed the database", tc.args)
		}
	}
}

// listRefs walks GET /api/v1/tickets and returns the refs it lists.
func listRefs(t *testing.T, hc *http.Client, url, key string) map[string]bool {
	t.Helper()
	refs := map[string]bool{}
	cursor := ""
	for {
		req, _ := http.NewRequest("GET", url+"/api/v1/tickets?limit=1000&cursor="+cursor, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Tickets    []gateway.Ticket `json:"tickets"`
			NextCursor string           `json:"next_cursor"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("list: %d %v", resp.StatusCode, err)
		}
		for _, tk := range page.Tickets {
			refs[tk.Ref] = true
		}
		if page.NextCursor == "" {
			return refs
		}
		cursor = page.NextCursor
	}
}
