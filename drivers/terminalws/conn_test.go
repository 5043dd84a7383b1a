package terminalws

import (
	"slices"
	"testing"
)

// A change dropped from a full queue is not lost: the loop is kicked and
// refreshes whatever its terminal shows.
func TestChangedQueueOverflow(t *testing.T) {
	c := &conn{changed: make(chan string, 2), kick: make(chan struct{}, 1)}
	c.ticketChanged("tkt_1")
	c.ticketChanged("tkt_2")
	// The loop drains the queue before the third change is dropped.
	if ids := c.moreChanged([]string{<-c.changed}); !slices.Equal(ids, []string{"tkt_1", "tkt_2"}) {
		t.Fatalf("drained %v", ids)
	}
	c.changed <- "tkt_3" // refill: the next one is dropped
	c.changed <- "tkt_3"
	c.ticketChanged("tkt_4")
	select {
	case <-c.kick:
	default:
		t.Fatal("a dropped change did not wake the loop")
	}
	if ids := c.moreChanged([]string{}); ids != nil {
		t.Fatalf("after a dropped change the loop refreshes %v, not everything", ids)
	}
	if ids := c.moreChanged([]string{}); ids == nil {
		t.Fatal("the dropped change is remembered after the refresh")
	}
}
