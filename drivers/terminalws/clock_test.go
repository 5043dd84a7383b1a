package terminalws_test

import (
	"testing"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// The result of the payment on screen tells the terminal's clock: an hour
// behind the box's, the watch says so; the same result sent again (as
// after a restart, late) tells nothing more.
func TestResultAtClockOff(t *testing.T) {
	boxNow := time.Date(2026, 11, 25, 19, 45, 2, 0, time.UTC)
	watch := gateway.NewClockWatch(func() time.Time { return boxNow })
	e := newEnv(t, envOptions{clock: watch})
	e.post(t, note("1253", "5"))
	c := e.pair(t)
	c.table("5")
	c.answer("full")
	pay := c.expectPay(5350)
	c.approve(pay) // at 18:45:02Z: an hour behind
	d, who, off := watch.Off()
	if !off || d != -time.Hour || who != "terminal "+c.name {
		t.Fatalf("Off = %v %q %v", d, who, off)
	}

	// A late copy, an hour older still: not heard.
	r := approved(pay)
	r.At = "2026-11-25T17:45:02Z"
	c.send(r)
	c.expect("ack")
	if d, _, _ := watch.Off(); d != -time.Hour {
		t.Fatalf("a resent result moved the watch: %v", d)
	}
}
