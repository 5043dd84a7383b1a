package web

import (
	"errors"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/web/views"
)

func (s *Server) scenariosModel(p views.Page) views.Scenarios {
	set := s.c.Scenarios.Current()
	m := views.Scenarios{Page: p}
	title := func(name string) string {
		if sc, ok := set.Scenarios[name]; ok {
			return sc.Title
		}
		return ""
	}
	for key, name := range set.Keys {
		m.Keys = append(m.Keys, views.KeyRow{Key: key, Scenario: name, Title: title(name)})
	}
	for term, keys := range set.Terminals {
		for key, name := range keys {
			m.Keys = append(m.Keys, views.KeyRow{Key: key, Scenario: name, Title: title(name), Terminal: term})
		}
	}
	sort.Slice(m.Keys, func(i, j int) bool {
		a, b := m.Keys[i], m.Keys[j]
		if a.Terminal != b.Terminal {
			return a.Terminal < b.Terminal
		}
		return a.Key < b.Key
	})
	if err := s.c.Scenarios.LastError(); err != nil {
		m.Refused = err.Error()
	}
	return m
}

func (s *Server) scenarios(w http.ResponseWriter, r *http.Request, q *req) error {
	m := s.scenariosModel(s.page(r, q, q.lang.T("nav.scenarios"), "scenarios"))
	data, err := os.ReadFile(s.c.Scenarios.Path())
	if err != nil {
		// The scenarios in service are still shown; the editor starts
		// empty and says why.
		m.Refused = q.lang.T("err.scenarios_read") + " " + err.Error()
	}
	m.Text = string(data)
	return render(w, r, http.StatusOK, views.ScenariosPage(m))
}

// saveScenarios validates the edited file, and saves it if asked and valid:
// nothing is written while it has a problem, and the problems are shown at
// their lines.
func (s *Server) saveScenarios(w http.ResponseWriter, r *http.Request, q *req) error {
	text := normalizeNewlines(r.PostForm.Get("text"))
	data := []byte(text)
	var err error
	save := r.PostForm.Get("action") == "save"
	if save {
		err = s.c.Scenarios.Save(data)
	} else {
		err = s.c.Scenarios.Validate(data)
	}
	var fe *gateway.ScenarioFileError
	if err != nil && !errors.As(err, &fe) {
		return err
	}
	m := s.scenariosModel(s.page(r, q, q.lang.T("nav.scenarios"), "scenarios"))
	m.Text = text
	if fe != nil {
		for _, p := range fe.Problems {
			m.Problems = append(m.Problems, views.Problem{Line: p.Line, Message: p.Message})
		}
		m.Truncated = fe.Truncated
		m.Lines = strings.Split(text, "\n")
		return render(w, r, http.StatusUnprocessableEntity, views.ScenariosPage(m))
	}
	if save {
		s.c.Log.Info("scenarios saved from the admin page")
		m.Saved = true
	} else {
		m.Valid = true
	}
	return render(w, r, http.StatusOK, views.ScenariosPage(m))
}
