package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/passerelle/passerelle/web/views"
)

// simulator is a payment terminal in the browser (static/sim.js): it speaks
// the terminal protocol over /ws/terminal, as a terminal app does, so the
// manager can try a scenario without hardware.
func (s *Server) simulator(w http.ResponseWriter, r *http.Request, q *req) error {
	m := views.Simulator{Page: s.page(r, q, q.lang.T("sim.title"), "terminals"), Script: assetURL("sim.js")}
	return render(w, r, http.StatusOK, views.SimulatorPage(m))
}

// pairingAnswer is what the simulator's script gets from simulatorPair.
type pairingAnswer struct {
	Code    string    `json:"code"`
	Expires time.Time `json:"expires"`
}

// simulatorPair issues a pairing code for the page's simulated terminal,
// which pairs with it at once: the manager types nothing. Like the
// terminals page's, the code is in this answer only.
func (s *Server) simulatorPair(w http.ResponseWriter, r *http.Request, q *req) error {
	code, exp, err := s.c.Terminals.NewPairingCode(r.Context())
	if err != nil {
		return err
	}
	s.c.Log.Info("pairing code issued for the browser terminal simulator", "expires", exp)
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(pairingAnswer{Code: code, Expires: exp})
}
