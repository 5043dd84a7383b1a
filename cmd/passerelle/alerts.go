package main

import (
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
	"github.com/passerelle/passerelle/web/views"
)

// boxAlerts is what the dashboard warns of about the box: a full disk, a
// clock off from the tills' and terminals'.
func boxAlerts(st *store.Store, clock *gateway.ClockWatch) func() views.Alerts {
	return func() views.Alerts {
		var a views.Alerts
		if err := st.WriteHealth(); err != nil {
			a.DiskFull = err.Error()
		}
		if off, who, ok := clock.Off(); ok {
			a.ClockOff, a.ClockSource = off, who
		}
		return a
	}
}
