package mdns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// loopback is the loopback interface dressed as a LAN interface, so that
// the advertiser and the browser use it: multicast sent there stays on
// this machine. Its addresses are documentation ones (TEST-NET-2): they are
// only what the records say, nothing is sent to them.
type loopback struct {
	mu    sync.Mutex
	iface Iface
}

func newLoopback(t *testing.T) *loopback {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 && i.Flags&net.FlagUp != 0 {
			return &loopback{iface: Iface{Index: i.Index, Name: i.Name, Flags: net.FlagUp | net.FlagMulticast,
				Addrs: []netip.Prefix{netip.MustParsePrefix("198.51.100.1/24")}}}
		}
	}
	t.Skip("no loopback interface")
	return nil
}

func (l *loopback) list() ([]Iface, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := l.iface
	i.Addrs = slices.Clone(i.Addrs)
	return []Iface{i}, nil
}

func (l *loopback) setAddrs(p ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.iface.Addrs = nil
	for _, s := range p {
		l.iface.Addrs = append(l.iface.Addrs, netip.MustParsePrefix(s))
	}
}

// TestAdvertiserAndBrowser runs an advertiser and a browser on loopback:
// the browser hears the announcement with its TXT record; a new address
// and a new instance name are announced again (the old ones withdrawn);
// on shutdown the announcement is withdrawn.
func TestAdvertiserAndBrowser(t *testing.T) {
	lo := newLoopback(t)
	b := make([]byte, 4)
	rand.Read(b)
	name := "Test " + hex.EncodeToString(b) // this run's only
	txt := GatewayTXT{ID: "gw_test", WSPath: DefaultWSPath}.Strings()

	var mu sync.Mutex
	var got []Entry
	heard := make(chan struct{}, 100)
	br := &Browser{Service: GatewayService, listIfaces: lo.list}
	s, err := br.listen(func(e Entry) {
		if e.Instance != name && e.Instance != name+" bis" {
			return // someone else's
		}
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
		heard <- struct{}{}
	})
	if err != nil {
		t.Skipf("cannot listen on port 5353 here: %v", err)
	}
	bctx, stopBrowse := context.WithCancel(context.Background())
	browsed := make(chan struct{})
	go func() { s.run(bctx); close(browsed) }()
	defer func() { stopBrowse(); <-browsed }()

	var instance sync.Mutex
	current := name
	adv := &Advertiser{Service: GatewayService, InstanceFunc: func() string { instance.Lock(); defer instance.Unlock(); return current },
		Host: "looptest", Port: 8420, Text: txt, Poll: 50 * time.Millisecond, listIfaces: lo.list}
	actx, stopAdv := context.WithCancel(context.Background())
	advertised := make(chan error, 1)
	go func() { advertised <- adv.Run(actx) }()
	defer func() { stopAdv(); <-advertised }()

	// wait reads entries until one satisfies ok; the timeout bounds an
	// announcement that never comes.
	wait := func(what string, ok func(Entry) bool) Entry {
		t.Helper()
		timeout := time.After(30 * time.Second)
		seen := 0
		for {
			mu.Lock()
			for ; seen < len(got); seen++ {
				if ok(got[seen]) {
					e := got[seen]
					got = got[seen+1:]
					mu.Unlock()
					return e
				}
			}
			mu.Unlock()
			select {
			case <-heard:
			case <-timeout:
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("no %s; heard %+v", what, got)
			}
		}
	}
	e := wait("announcement", func(e Entry) bool { return !e.Goodbye })
	if e.Host != "looptest.local." || e.Port != 8420 || !slices.Equal(e.Text, txt) ||
		!slices.Equal(e.Addrs, []netip.Addr{netip.MustParseAddr("198.51.100.1")}) {
		t.Fatalf("entry %+v", e)
	}
	// A second address: withdrawn, announced again with both.
	lo.setAddrs("198.51.100.1/24", "198.51.100.2/24")
	wait("goodbye before the new address", func(e Entry) bool { return e.Goodbye })
	wait("new address", func(e Entry) bool {
		return !e.Goodbye && slices.Contains(e.Addrs, netip.MustParseAddr("198.51.100.2"))
	})
	// The shop renamed: the new name is announced.
	instance.Lock()
	current = name + " bis"
	instance.Unlock()
	wait("new name", func(e Entry) bool { return !e.Goodbye && e.Instance == name+" bis" })
	// Shut down: withdrawn.
	stopAdv()
	if err := <-advertised; err != nil {
		t.Fatal(err)
	}
	advertised <- nil
	wait("goodbye at shutdown", func(e Entry) bool { return e.Goodbye && e.Instance == name+" bis" })
}
