package web_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/web/views"
)

// The dashboard warns of a full disk and of a clock off, and says nothing
// while all is well.
func TestDashboardAlerts(t *testing.T) {
	s := newShop(t)
	c := s.setup()
	if r := c.get("/"); r.has("disk-full") || r.has("clock-off") {
		t.Fatal("alerts shown while all is well")
	}
	s.alerts = views.Alerts{DiskFull: "disk full since 2026-03-03T12:00:00Z", ClockOff: time.Hour, ClockSource: "till Caisse 1"}
	r := c.get("/")
	r.want(t, http.StatusOK, "disk-full", "clock-off")
	if got := r.text("disk-full"); !strings.Contains(got, "disque du boîtier est plein") || !strings.Contains(r.body, "2026-03-03T12:00:00Z") {
		t.Errorf("disk full says %q", got)
	}
	if got := r.text("clock-off"); !strings.Contains(got, "+1h0m0s") || !strings.Contains(got, "till Caisse 1") {
		t.Errorf("clock off says %q", got)
	}
}
