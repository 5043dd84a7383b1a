package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"
)

// systemd's notification protocol (sd_notify(3)): one datagram of
// "KEY=VALUE" lines to the unix socket named by $NOTIFY_SOCKET. It is a few
// lines, so they are ours rather than github.com/coreos/go-systemd's daemon
// package: one module less in a payment gateway's build for two functions,
// and nothing of go-systemd's dbus or journal code to audit.

// notifier sends states to systemd; nil when not run by systemd with
// Type=notify (no NOTIFY_SOCKET), and then sends nothing.
type notifier struct{ addr *net.UnixAddr }

func newNotifier() *notifier {
	name := os.Getenv("NOTIFY_SOCKET")
	if name == "" {
		return nil
	}
	// A name starting with @ is in the abstract namespace: the net package
	// translates the @ itself.
	return &notifier{addr: &net.UnixAddr{Name: name, Net: "unixgram"}}
}

func (n *notifier) send(state string) error {
	if n == nil {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %q: %w", state, err)
	}
	return nil
}

// watchdogEvery is how often to feed systemd's watchdog: half its
// WatchdogSec, as sd_watchdog_enabled(3) advises; 0 when there is none or
// it watches another process.
func watchdogEvery() time.Duration {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 2
}

// superviseSystemd runs beside the gateway's other tasks: it tells systemd
// READY=1 (the caller has the listener and the store up), then feeds the
// watchdog only while ping answers, so that a store that hangs gets the
// service restarted, and says STOPPING=1 as the shutdown begins. Without
// systemd it returns at once; its own failures never stop the gateway.
func superviseSystemd(ctx context.Context, ping func(context.Context) error, log *slog.Logger) error {
	n := newNotifier()
	if n == nil {
		return nil
	}
	if err := n.send("READY=1\nSTATUS=serving"); err != nil {
		log.Warn("systemd notification failed", "err", err)
		return nil
	}
	var tick <-chan time.Time
	if every := watchdogEvery(); every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			if err := n.send("STOPPING=1\nSTATUS=stopping"); err != nil {
				log.Warn("systemd notification failed", "err", err)
			}
			return nil
		case <-tick:
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := ping(pctx)
			cancel()
			if err != nil {
				log.Warn("the store does not answer: systemd's watchdog is not fed", "err", err)
				continue
			}
			if err := n.send("WATCHDOG=1"); err != nil {
				log.Warn("systemd notification failed", "err", err)
			}
		}
	}
}
