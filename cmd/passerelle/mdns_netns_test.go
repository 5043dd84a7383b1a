//go:build linux

package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/listener"
	"github.com/passerelle/passerelle/drivers/mdns"
	"github.com/passerelle/passerelle/drivers/terminalsim"
	"github.com/passerelle/passerelle/gateway"
)

// The discovery tests run real gateways and simulated terminals in network
// namespaces of their own (netns_test.go): mDNS across a real (virtual)
// LAN, with independent mDNS clients beside them.

// netnsGateway makes a gateway's data directory: its configuration (shop
// name, mDNS host name) and a till key.
func netnsGateway(t testing.TB, bin, shop, host string) (data, key string) {
	t.Helper()
	data = t.TempDir()
	cfg := fmt.Sprintf("shop:\n  name: %q\nmdns:\n  host_name: %s\n", shop, host)
	if err := os.WriteFile(filepath.Join(data, gateway.ConfigFile), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "till", "add", "Caisse 1", "--data", data).Output()
	if err != nil {
		t.Fatalf("till add: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return data, lines[len(lines)-1]
}

var announcedLine = regexp.MustCompile(`msg="mDNS: announced" service=_passerelle\._tcp`)

// startNetnsGateway runs `passerelle run` in ns, on its default address
// (:8420, TLS), and waits for its mDNS announcement.
func startNetnsGateway(t testing.TB, lan *testLAN, ns, bin, data string) *nsProc {
	t.Helper()
	g := lan.start(ns, "gateway "+ns, nil, bin, "run", "--data", data)
	g.waitLine(announcedLine, 0, time.Minute)
	return g
}

func dataFingerprint(t testing.TB, data string) string {
	t.Helper()
	c, err := tls.LoadX509KeyPair(filepath.Join(data, listener.CertFile), filepath.Join(data, listener.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	return listener.Fingerprint(c)
}

// netnsCode runs `passerelle terminal code` in the gateway's namespace;
// it returns the code and the pairing link.
func netnsCode(t testing.TB, lan *testLAN, ns, bin, data string) (code, link string) {
	t.Helper()
	out, err := lan.run(ns, bin, "terminal", "code", "--data", data)
	if err != nil {
		t.Fatalf("terminal code: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "passerelle://") {
			link = l
		}
	}
	return lines[len(lines)-1], link
}

// tillDo is a till API request from inside the LAN.
func tillDo(t testing.TB, c *http.Client, method, url, key string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %s %s", method, url, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// payTable has the console terminal pay a table's ticket in full with F2.
func payTable(t *testing.T, sim *nsProc, table string) {
	t.Helper()
	n := sim.lineCount()
	sim.say("F2")
	_, n = sim.waitLine(regexp.MustCompile(`digits, 1 to 4`), n, time.Minute)
	sim.say(table)
	_, n = sim.waitLine(regexp.MustCompile(`\(full\)`), n, time.Minute)
	sim.say("full")
	_, n = sim.waitLine(regexp.MustCompile(`PIN\?`), n, time.Minute)
	sim.say("approve")
	sim.waitLine(regexp.MustCompile(`== PAIEMENT ACCEPTÉ ==`), n, time.Minute)
}

// TestNetnsDiscoveryPairingPayment: a gateway in one namespace, a terminal
// in another. The terminal finds the gateway by mDNS with no address
// given, pairs after checking the fingerprint's first characters, and
// pays; the gateway lists it as discovered and paired. Then the gateway's
// address changes: the terminal follows it by itself and pays again.
func TestNetnsDiscoveryPairingPayment(t *testing.T) {
	needNetns(t)
	bin := buildPasserelle(t)
	lan := newLAN(t)
	gwNS := lan.host("gw", "10.77.0.1/24")
	tNS := lan.host("tpe", "10.77.0.2/24")
	data, key := netnsGateway(t, bin, "Crêperie du Port", "gateway")
	gw := startNetnsGateway(t, lan, gwNS, bin, data)
	fp := dataFingerprint(t, data)
	code, link := netnsCode(t, lan, gwNS, bin, data)
	if l, err := gateway.ParsePairingLink(link); err != nil || l.Fingerprint != fp || l.Code != code ||
		!slices.Contains(l.Addrs, "10.77.0.1:8420") {
		t.Fatalf("pairing link %q: %+v, %v", link, l, err)
	}

	state := filepath.Join(t.TempDir(), "terminal.json")
	sim := lan.start(tNS, "terminal", nil, bin, "sim", "terminal", "--state", state, "--code", code,
		"--fingerprint", fp[:16], "--mdns-host", "tpe1", "--timeout", "30s", "-v")
	sim.waitLine(regexp.MustCompile(`^found the gateway "Crêperie du Port" at 10\.77\.0\.1:8420`), 0, time.Minute)
	sim.waitLine(regexp.MustCompile(`^paired with the gateway as "Terminal SIM\d+" \(trm_\w+\) at https://10\.77\.0\.1:8420`), 0, time.Minute)
	sim.waitLine(regexp.MustCompile(`^idle: press F1`), 0, time.Minute)
	st, err := terminalsim.LoadState(state)
	if err != nil || st.Fingerprint != fp || !strings.HasPrefix(st.GatewayID, "gw_") || st.GatewayName != "Crêperie du Port" {
		t.Fatalf("state after pairing: %+v, %v", st, err)
	}

	client := nsHTTPClient(t, gwNS)
	pay := func(base, ref, table string) {
		t.Helper()
		var tk gateway.Ticket
		tillDo(t, client, http.MethodPost, base+"/api/v1/tickets", key, simTourTicket(ref, table, 1000), &tk)
		payTable(t, sim, table)
		tillDo(t, client, http.MethodGet, base+"/api/v1/tickets/"+tk.ID, key, nil, &tk)
		if tk.Status != gateway.TicketPaid || len(tk.Payments) != 1 {
			t.Fatalf("ticket %s after the payment: %+v", ref, tk)
		}
	}
	pay("https://10.77.0.1:8420", "1", "5")

	// The gateway lists the terminal it heard over mDNS, paired.
	listed := regexp.MustCompile(`(?m)^` + st.Serial + `\s+passerelle-sim\s+10\.77\.0\.2\S*\s+\S+\s+Terminal ` + st.Serial + `$`)
	waitFor(t, 30*time.Second, func() (bool, string) {
		out, _ := lan.run(gwNS, bin, "terminal", "list", "--discovered", "--data", data)
		return listed.MatchString(out), out
	})

	// The gateway's address changes (DHCP gave it another): it announces
	// the new one, the terminal moves there by itself.
	n := sim.lineCount()
	changed := time.Now()
	lan.ip("-n", gwNS, "addr", "add", "10.77.0.99/24", "dev", "eth0")
	lan.ip("-n", gwNS, "addr", "del", "10.77.0.1/24", "dev", "eth0")
	l, _ := sim.waitLine(regexp.MustCompile(`reconnected to the gateway at https://10\.77\.0\.99:8420`), n, time.Minute)
	t.Logf("from the address change to the terminal reconnected: %v", l.at.Sub(changed).Round(time.Millisecond))
	pay("https://10.77.0.99:8420", "2", "6")
	if st, _ := terminalsim.LoadState(state); st.GatewayURL != "https://10.77.0.99:8420" {
		t.Errorf("state after the move: %+v", st)
	}
	if out := gw.output(); strings.Contains(out, "level=ERROR") {
		t.Errorf("the gateway logged errors:\n%s", out)
	}
}

// waitFor polls cond until it holds; the timeout bounds a condition that
// never does.
func waitFor(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s; last:\n%s", timeout, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestNetnsChooseGateway: two gateways on the LAN, a terminal that is
// not paired and is given no address: it lists both and asks which one,
// shows the chosen one's fingerprint and asks for its confirmation, then
// pairs with that one.
func TestNetnsChooseGateway(t *testing.T) {
	needNetns(t)
	bin := buildPasserelle(t)
	lan := newLAN(t)
	aNS := lan.host("gwa", "10.82.0.1/24")
	bNS := lan.host("gwb", "10.82.0.3/24")
	tNS := lan.host("tpe", "10.82.0.2/24")
	aData, _ := netnsGateway(t, bin, "Bar du Port", "gwa")
	bData, _ := netnsGateway(t, bin, "Chez Julie", "gwb")
	startNetnsGateway(t, lan, aNS, bin, aData)
	startNetnsGateway(t, lan, bNS, bin, bData)
	code, _ := netnsCode(t, lan, bNS, bin, bData)
	fp := dataFingerprint(t, bData)

	sim := lan.start(tNS, "terminal", nil, bin, "sim", "terminal", "--state", filepath.Join(t.TempDir(), "t.json"),
		"--code", code, "--mdns-host", "tpe1")
	sim.waitLine(regexp.MustCompile(`^gateways on the LAN:`), 0, time.Minute)
	choice, _ := sim.waitLine(regexp.MustCompile(`^  (\d)\. "Chez Julie" at 10\.82\.0\.3:8420`), 0, time.Minute)
	other, _ := sim.waitLine(regexp.MustCompile(`^  \d\. "Bar du Port" at 10\.82\.0\.1:8420`), 0, time.Minute)
	if choice.text[2] == other.text[2] {
		t.Fatalf("two gateways, one number:\n%s", sim.output())
	}
	sim.say(choice.text[2:3])
	sim.waitLine(regexp.MustCompile(`^(which one\? \(1-2\) )?certificate fingerprint: `+
		regexp.QuoteMeta(gateway.FormatFingerprint(fp, 16))+"…$"), 0, time.Minute)
	sim.say("y")
	sim.waitLine(regexp.MustCompile(`paired with the gateway as "Terminal SIM\d+" \(trm_\w+\) at https://10\.82\.0\.3:8420`), 0, time.Minute)
}

// TestNetnsImpostor: a third namespace runs an impostor: a copy of the
// gateway's data (same id, same shop name, same host name, even the
// terminals' tokens) without its private key, so with another
// certificate. After pairing, the terminal goes to the real gateway while
// it is there, even at a new address, and refuses the impostor once only
// the impostor is left, before saying anything to it.
func TestNetnsImpostor(t *testing.T) {
	needNetns(t)
	bin := buildPasserelle(t)
	lan := newLAN(t)
	gwNS := lan.host("gw", "10.78.0.1/24")
	tNS := lan.host("tpe", "10.78.0.2/24")
	impNS := lan.host("imp", "10.78.0.3/24")
	data, _ := netnsGateway(t, bin, "Chez Julie", "gateway")
	gw := startNetnsGateway(t, lan, gwNS, bin, data)
	fp := dataFingerprint(t, data)
	state := filepath.Join(t.TempDir(), "terminal.json")
	sim := func(args ...string) (string, int) {
		t.Helper()
		out, err := lan.run(tNS, append([]string{bin, "sim", "terminal", "--state", state, "--timeout", "20s",
			"--mdns-host", "tpe1", "--browse", "2s", "--script", "F2; 9"}, args...)...)
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "DATA RACE") {
			t.Errorf("sim terminal reported a data race:\n%s", out)
		}
		return out, code
	}
	// Paired by its pairing link: the link names the address and the
	// certificate.
	_, link := netnsCode(t, lan, gwNS, bin, data)
	if out, rc := sim("--link", link); rc != 0 || !strings.Contains(out, "paired with the gateway") {
		t.Fatalf("pairing: exit %d\n%s", rc, out)
	}
	if st, _ := terminalsim.LoadState(state); st.Fingerprint != fp || st.GatewayID != "" {
		t.Fatalf("state after pairing by link: %+v", st)
	}

	// The impostor: the gateway's data without its key.
	gw.stop()
	impData := t.TempDir()
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == listener.CertFile || e.Name() == listener.KeyFile {
			continue
		}
		b, err := os.ReadFile(filepath.Join(data, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(impData, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The real gateway comes back at another address; the impostor joins.
	lan.ip("-n", gwNS, "addr", "add", "10.78.0.11/24", "dev", "eth0")
	lan.ip("-n", gwNS, "addr", "del", "10.78.0.1/24", "dev", "eth0")
	gw = startNetnsGateway(t, lan, gwNS, bin, data)
	imp := startNetnsGateway(t, lan, impNS, bin, impData)
	if impFP := dataFingerprint(t, impData); impFP == fp {
		t.Fatal("the impostor has the real certificate")
	}

	// Its last address gone, the terminal finds the real gateway by mDNS,
	// by its certificate, beside the impostor that announces the same name
	// and id; it learns them.
	out, rc := sim()
	if rc != 0 || !strings.Contains(out, "connected to the gateway as") || !strings.Contains(out, "at https://10.78.0.11:8420") {
		t.Fatalf("with the real gateway moved and the impostor there: exit %d\n%s", rc, out)
	}
	if st, _ := terminalsim.LoadState(state); !strings.HasPrefix(st.GatewayID, "gw_") || st.GatewayName != "Chez Julie" {
		t.Fatalf("state after finding the gateway: %+v", st)
	}

	// Only the impostor left: refused, whether found by mDNS or by its
	// address.
	gw.stop()
	for _, args := range [][]string{nil, {"--url", "https://10.78.0.3:8420"}} {
		out, rc := sim(args...)
		if rc != 1 || !strings.Contains(out, "possible impostor: fingerprint changed") {
			t.Errorf("impostor only (%q): exit %d\n%s", args, rc, out)
		}
	}
	if out := imp.output(); strings.Contains(out, "terminal connected") || strings.Contains(out, "unauthorized") {
		t.Errorf("the impostor heard from the terminal:\n%s", out)
	}
}

// TestNetnsIndependentClients: mDNS clients no one here wrote see the
// gateway: avahi-browse (avahi-daemon and dbus started in the test's
// namespace) resolves it with its TXT record, dig's legacy unicast query
// gets a unicast answer; and the gateway lists a terminal that
// avahi-publish announces.
func TestNetnsIndependentClients(t *testing.T) {
	needNetns(t, "avahi-daemon", "avahi-browse", "avahi-publish", "dbus-daemon", "dig")
	bin := buildPasserelle(t)
	lan := newLAN(t)
	gwNS := lan.host("gw", "10.79.0.1/24")
	obsNS := lan.host("obs", "10.79.0.2/24")
	data, _ := netnsGateway(t, bin, "Crêperie du Port", "gateway")
	gw := startNetnsGateway(t, lan, gwNS, bin, data)
	fp := dataFingerprint(t, data)

	env := startAvahi(t, lan, obsNS)
	runObs := func(args ...string) (string, error) {
		ctx := exec.Command("ip", append([]string{"netns", "exec", obsNS}, args...)...)
		ctx.Env = append(os.Environ(), env...)
		out, err := ctx.CombinedOutput()
		return string(out), err
	}

	// avahi-browse, resolving: the instance name with its space and
	// accent, the host, the port, the TXT record.
	resolved := regexp.MustCompile(`(?m)^=;[^;]*;IPv4;Cr\\195\\170perie\\032du\\032Port;_passerelle\._tcp;local;gateway\.local;10\.79\.0\.1;8420;(.*)$`)
	var txt string
	waitFor(t, 30*time.Second, func() (bool, string) {
		out, err := runObs("avahi-browse", "-r", "-p", "-t", "_passerelle._tcp")
		m := resolved.FindStringSubmatch(out)
		if m != nil {
			txt = m[1]
		}
		return m != nil, fmt.Sprint(out, err)
	})
	for _, kv := range []string{`"v=1"`, `"ws=/ws/terminal"`, `"tls=1"`, `"fp=` + fp + `"`} {
		if !strings.Contains(txt, kv) {
			t.Errorf("avahi-browse: TXT %s lacks %s", txt, kv)
		}
	}
	if !regexp.MustCompile(`"id=gw_[0-9A-Z]{26}"`).MatchString(txt) {
		t.Errorf("avahi-browse: TXT %s lacks the gateway's id", txt)
	}

	// dig, from an ordinary port, by unicast: the answer carries the
	// question, TTLs of at most 10 s, and the records to connect.
	out, err := runObs("dig", "-p", "5353", "@10.79.0.1", "_passerelle._tcp.local", "PTR", "+time=2", "+tries=3")
	if err != nil {
		t.Fatalf("dig: %v\n%s", err, out)
	}
	for _, want := range []string{"status: NOERROR", "ANSWER: 1,", ";; QUESTION SECTION:\n;_passerelle._tcp.local.\t\tIN\tPTR",
		`"fp=` + fp + `"`, "SERVER: 10.79.0.1#5353"} {
		if !strings.Contains(out, want) {
			t.Errorf("dig: no %q in\n%s", want, out)
		}
	}
	ttls := regexp.MustCompile(`(?m)^\S+\s+(\d+)\s+IN\s+(PTR|SRV|TXT|A|AAAA)\s`).FindAllStringSubmatch(out, -1)
	if len(ttls) < 4 {
		t.Errorf("dig: answer and additional records missing:\n%s", out)
	}
	for _, m := range ttls {
		if n, _ := strconv.Atoi(m[1]); n < 1 || n > 10 {
			t.Errorf("dig: %s record with TTL %s (legacy unicast: at most 10)", m[2], m[1])
		}
	}
	if !strings.Contains(out, "_passerelle._tcp.local.\t10\tIN\tPTR\tCr\\195\\170perie\\032du\\032Port._passerelle._tcp.local.") {
		t.Errorf("dig: no PTR to the instance:\n%s", out)
	}
	if !regexp.MustCompile(`gateway\.local\.\s+10\s+IN\s+A\s+10\.79\.0\.1`).MatchString(out) {
		t.Errorf("dig: no A record of the gateway:\n%s", out)
	}

	// Stopped, the gateway withdraws its announcement: avahi forgets it at
	// once rather than at the end of its TTL.
	gw.stop()
	waitFor(t, 30*time.Second, func() (bool, string) {
		out, err := runObs("avahi-browse", "-p", "-t", "-c", "_passerelle._tcp")
		return err == nil && !strings.Contains(out, "_passerelle._tcp"), out
	})
	startNetnsGateway(t, lan, gwNS, bin, data) // again, to hear the terminal

	// A terminal announced by avahi-publish is listed by the gateway.
	pub := lan.start(obsNS, "avahi-publish", env, "avahi-publish", "-s", "TPE Avahi", "_passerelle-tpe._tcp", "9",
		"serial=AVAHI-1", "model=avahi-publish")
	pub.waitLine(regexp.MustCompile(`Established under name`), 0, 30*time.Second)
	listed := regexp.MustCompile(`(?m)^AVAHI-1\s+avahi-publish\s+10\.79\.0\.2\S*\s+\S+\s+-$`)
	waitFor(t, 30*time.Second, func() (bool, string) {
		out, _ := lan.run(gwNS, bin, "terminal", "list", "--discovered", "--data", data)
		return listed.MatchString(out), out
	})
}

// startAvahi runs dbus-daemon and avahi-daemon in ns, each with its own
// configuration, and returns the environment their clients need. The
// daemon's pid file goes to a tmpfs of its own mount namespace (that of
// `ip netns exec`): an avahi-daemon of the machine is not disturbed.
func startAvahi(t *testing.T, lan *testLAN, ns string) []string {
	t.Helper()
	dir := t.TempDir()
	bus := filepath.Join(dir, "bus")
	busConf := `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=` + bus + `</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
`
	avahiConf := "[server]\nhost-name=observer\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=eth0\nenable-dbus=yes\n" +
		"[wide-area]\nenable-wide-area=no\n[publish]\npublish-hinfo=no\npublish-workstation=no\n"
	for name, content := range map[string]string{"bus.conf": busConf, "avahi-daemon.conf": avahiConf} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lan.start(ns, "dbus-daemon", nil, "dbus-daemon", "--config-file="+filepath.Join(dir, "bus.conf"), "--nofork", "--nopidfile")
	waitFor(t, 30*time.Second, func() (bool, string) {
		_, err := os.Stat(bus)
		return err == nil, fmt.Sprint(err)
	})
	env := []string{"DBUS_SYSTEM_BUS_ADDRESS=unix:path=" + bus}
	if err := os.MkdirAll("/run/avahi-daemon", 0o755); err != nil { // the mount point
		t.Fatal(err)
	}
	avahi := lan.start(ns, "avahi-daemon", env, "sh", "-c", "mount -t tmpfs tmpfs /run/avahi-daemon && exec avahi-daemon -f "+
		filepath.Join(dir, "avahi-daemon.conf")+" --no-drop-root --no-chroot --no-rlimits")
	avahi.waitLine(regexp.MustCompile(`Server startup complete`), 0, 30*time.Second)
	return env
}

// BenchmarkNetnsDiscovery measures, b.N times, the time from a gateway's
// start (its process started, its data there) to a terminal in another
// namespace hearing it: run with -benchtime 20x for the median of 20.
func BenchmarkNetnsDiscovery(b *testing.B) {
	needNetns(b)
	bin := buildPasserelle(b)
	lan := newLAN(b)
	gwNS := lan.host("gw", "10.80.0.1/24")
	tNS := lan.host("tpe", "10.80.0.2/24")
	data, _ := netnsGateway(b, bin, "Bistrot", "gateway")
	startNetnsGateway(b, lan, gwNS, bin, data).stop() // the certificate and the database, made once
	heard := regexp.MustCompile(`^gateway "Bistrot" at 10\.80\.0\.1:8420`)
	var times []time.Duration
	for b.Loop() {
		sim := lan.start(tNS, "terminal", nil, bin, "sim", "terminal", "--discover", "--browse", "60s")
		time.Sleep(500 * time.Millisecond) // listening before the gateway starts
		start := time.Now()
		gw := lan.start(gwNS, "gateway", nil, bin, "run", "--data", data)
		l, _ := sim.waitLine(heard, 0, time.Minute)
		times = append(times, l.at.Sub(start))
		gw.stop()
		sim.stop()
	}
	reportTimes(b, times)
}

// BenchmarkNetnsAddressChange measures, b.N times, the time from the
// gateway's address changing to the terminal reconnected at the new one.
func BenchmarkNetnsAddressChange(b *testing.B) {
	needNetns(b)
	bin := buildPasserelle(b)
	lan := newLAN(b)
	gwNS := lan.host("gw", "10.81.0.1/24")
	tNS := lan.host("tpe", "10.81.0.2/24")
	data, _ := netnsGateway(b, bin, "Bistrot", "gateway")
	startNetnsGateway(b, lan, gwNS, bin, data)
	_, link := netnsCode(b, lan, gwNS, bin, data)
	sim := lan.start(tNS, "terminal", nil, bin, "sim", "terminal", "--state", filepath.Join(b.TempDir(), "t.json"),
		"--link", link, "--mdns-host", "tpe1")
	sim.waitLine(regexp.MustCompile(`^idle: press F1`), 0, time.Minute)
	addrs := []string{"10.81.0.1", "10.81.0.99"}
	var times []time.Duration
	i := 0
	for b.Loop() {
		from, to := addrs[i%2], addrs[(i+1)%2]
		i++
		// At any moment of the gateway's polling, not always just after
		// the last move.
		time.Sleep(time.Duration(mrand.Int64N(int64(mdns.DefaultPoll))))
		n := sim.lineCount()
		start := time.Now()
		lan.ip("-n", gwNS, "addr", "add", to+"/24", "dev", "eth0")
		lan.ip("-n", gwNS, "addr", "del", from+"/24", "dev", "eth0")
		l, _ := sim.waitLine(regexp.MustCompile(`reconnected to the gateway at https://`+regexp.QuoteMeta(to)+`:8420`), n, time.Minute)
		times = append(times, l.at.Sub(start))
	}
	reportTimes(b, times)
}

func reportTimes(b *testing.B, times []time.Duration) {
	slices.Sort(times)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(times[len(times)/2]), "ms-median")
	b.ReportMetric(ms(times[0]), "ms-min")
	b.ReportMetric(ms(times[len(times)-1]), "ms-max")
	b.ReportMetric(0, "ns/op") // the loop's own time says nothing here
	b.Logf("%d runs: %v", len(times), times)
}
