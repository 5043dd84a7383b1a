package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/web/views"
)

// timeZones are offered in the settings form; any zone Go knows is
// accepted.
var timeZones = []string{"Europe/Paris", "Europe/Brussels", "Europe/Luxembourg", "Europe/Zurich", "Europe/Monaco",
	"Europe/Berlin", "Europe/Madrid", "Europe/Rome", "Europe/London", "Indian/Reunion", "Indian/Mayotte",
	"America/Guadeloupe", "America/Martinique", "America/Cayenne", "America/Miquelon", "Pacific/Noumea",
	"Pacific/Tahiti", "UTC"}

// Limits of the receipt header's lines.
const (
	maxAddressLen = 128
	maxPhoneLen   = 32
)

func (s *Server) settingsModel(ctx context.Context, p views.Page) (views.Settings, error) {
	cfg := s.c.Settings.Config()
	m := views.Settings{Page: p, ShopErrors: views.Errors{}, PassErrors: views.Errors{}, Currency: cfg.Shop.Currency,
		Fingerprint: s.c.Fingerprint, DataDir: s.c.DataDir, Version: s.c.Version, TimeZones: timeZones,
		Shop: views.ShopForm{Name: cfg.Shop.Name, Address: cfg.Shop.Address, Phone: cfg.Shop.Phone,
			VATRates: formatRates(cfg.Shop.VATRates, p.L), TimeZone: cfg.Shop.TimeZone}}
	if abs, err := filepath.Abs(s.c.DataDir); err == nil {
		m.DataDir = abs
	}
	s.upstreamModel(ctx, &m)
	var err error
	m.DBSize, err = s.c.Store.DatabaseSize(ctx)
	return m, err
}

func (s *Server) settings(w http.ResponseWriter, r *http.Request, q *req) error {
	m, err := s.settingsModel(r.Context(), s.page(r, q, q.lang.T("nav.settings"), "settings"))
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, views.SettingsPage(m))
}

// formatRates writes basis points as the form shows them: "0 ; 5,5 ; 20".
func formatRates(rates []int64, l views.Lang) string {
	out := make([]string, len(rates))
	for i, r := range rates {
		s := rateText(r)
		if l != views.English {
			s = strings.Replace(s, ".", ",", 1)
		}
		out[i] = s
	}
	sep := " ; "
	if l == views.English {
		sep = "; "
	}
	return strings.Join(out, sep)
}

// parseRates reads percentages separated by spaces or semicolons, with a
// comma or a dot before at most two decimals, into basis points, sorted,
// each once. bad is the first entry that is not a rate.
func parseRates(s string) (rates []int64, bad string) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' || r == '/' })
	for _, f := range fields {
		f = strings.TrimSuffix(strings.TrimSpace(f), "%")
		whole, frac, _ := strings.Cut(strings.Replace(f, ",", ".", 1), ".")
		if len(frac) > 2 || whole == "" {
			return nil, f
		}
		frac += strings.Repeat("0", 2-len(frac))
		w, err1 := strconv.ParseInt(whole, 10, 64)
		d, err2 := strconv.ParseInt(frac, 10, 64)
		if err1 != nil || err2 != nil || w < 0 || d < 0 || w > 100 || (w == 100 && d > 0) {
			return nil, f
		}
		rates = append(rates, w*100+d)
	}
	slices.Sort(rates)
	return slices.Compact(rates), ""
}

func (s *Server) saveShop(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	form := views.ShopForm{Name: strings.TrimSpace(r.PostForm.Get("name")), Address: strings.TrimSpace(r.PostForm.Get("address")),
		Phone: strings.TrimSpace(r.PostForm.Get("phone")), VATRates: r.PostForm.Get("vat_rates"),
		TimeZone: strings.TrimSpace(r.PostForm.Get("time_zone"))}
	errs := views.Errors{}
	cfg := s.c.Settings.Config()
	shop := cfg.Shop
	shop.Name, shop.Address, shop.Phone, shop.TimeZone = form.Name, form.Address, form.Phone, form.TimeZone
	if msg := textError(q.lang, form.Address, 0, maxAddressLen); msg != "" {
		errs["address"] = msg
	}
	if msg := textError(q.lang, form.Phone, 0, maxPhoneLen); msg != "" {
		errs["phone"] = msg
	}
	rates, bad := parseRates(form.VATRates)
	switch {
	case bad != "":
		errs["vat_rates"] = q.lang.Tf("err.bad_vat", bad)
	case len(rates) == 0:
		errs["vat_rates"] = q.lang.T("err.required")
	}
	shop.VATRates = rates
	cfg.Shop = shop
	var ve *gateway.ValidationError
	if err := cfg.Validate(); errors.As(err, &ve) {
		for k, v := range fieldErrors(q.lang, ve, map[string]string{"shop.name": "name", "shop.time_zone": "time_zone"}) {
			switch {
			case k == "time_zone":
				errs[k] = q.lang.T("err.bad_zone")
			case strings.HasPrefix(k, "shop.vat_rates"):
				// parseRates said it already, in the form's words.
			case k == "name":
				errs[k] = v
			default:
				errs[""] = v
			}
		}
	} else if err != nil {
		return err
	}
	if len(errs) == 0 {
		err := s.c.Settings.SaveShop(ctx, shop)
		if !errors.As(err, &ve) {
			if err != nil {
				return err
			}
			s.c.Log.Info("shop settings saved from the admin page")
			redirect(w, r, "/settings", "set.saved")
			return nil
		}
		errs = fieldErrors(q.lang, ve, nil)
	}
	m, err := s.settingsModel(ctx, s.page(r, q, q.lang.T("nav.settings"), "settings"))
	if err != nil {
		return err
	}
	m.Shop, m.ShopErrors = form, errs
	return render(w, r, http.StatusUnprocessableEntity, views.SettingsPage(m))
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	tok, err := s.c.Admin.ChangePassword(ctx, clientAddr(r), r.PostForm.Get("current"), r.PostForm.Get("password"), r.PostForm.Get("confirm"))
	var ve *gateway.ValidationError
	errs := views.Errors{}
	status := http.StatusUnprocessableEntity
	switch {
	case errors.As(err, &ve):
		errs = passwordErrors(q.lang, ve)
	case errors.As(err, new(*gateway.LoginWaitError)):
		errs[""], status = s.mustWait(w, q.lang, "password change", clientAddr(r), err), http.StatusTooManyRequests
	case errors.Is(err, gateway.ErrBusy):
		errs[""], status = q.lang.T("login.busy"), http.StatusServiceUnavailable
	case err != nil:
		return err
	default:
		s.c.Log.Info("admin password changed", "addr", clientAddr(r))
		s.setSessionCookie(w, r, tok)
		redirect(w, r, "/settings", "set.changed")
		return nil
	}
	m, err := s.settingsModel(ctx, s.page(r, q, q.lang.T("nav.settings"), "settings"))
	if err != nil {
		return err
	}
	m.PassErrors = errs
	return render(w, r, status, views.SettingsPage(m))
}

// backup sends a consistent copy of the database: written beside the
// database (the same disk, which has the room), streamed, then deleted.
func (s *Server) backup(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	dir, err := os.MkdirTemp(s.c.DataDir, ".backup-")
	if err != nil {
		return fmt.Errorf("web: backup: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "passerelle.db")
	if err := s.c.Store.Backup(ctx, path); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("web: backup: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("web: backup: %w", err)
	}
	name := "passerelle-" + s.c.Now().In(s.c.Settings.Config().Location()).Format("20060102-1504") + ".db"
	w.Header().Set("Content-Type", "application/vnd.sqlite3")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	s.c.Log.Info("backup downloaded from the admin page", "bytes", fi.Size())
	if _, err := io.Copy(w, f); err != nil {
		// Headers are sent: all that is left is to say so in the log.
		s.c.Log.Warn("admin: backup download cut short", "err", err)
	}
	return nil
}
