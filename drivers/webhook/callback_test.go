package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/drivers/webhook"
	"github.com/passerelle/passerelle/gateway"
)

// A callback set on a till that had none starts with the next event; a
// callback changed while deliveries fail takes the backlog.
func TestCallbackSetLater(t *testing.T) {
	ctx := context.Background()
	e := openEnv(t, dbPath(t))
	till := addTill(t, e, "Caisse 1", "")
	for _, ref := range []string{"1", "2", "3"} {
		submit(t, e, till, ref, 1)
	}
	run(t, fast(e))

	wrong := newReceiver(func(int, delivery) int { return http.StatusNotFound })
	wrongSrv := httptest.NewServer(wrong)
	defer wrongSrv.Close()
	if _, _, err := e.tills.SetCallback(ctx, till.Name, wrongSrv.URL+"/wrong"); err != nil {
		t.Fatal(err)
	}
	submit(t, e, till, "4", 1)
	backlog := eventsOf(t, e, till)[3:]
	wrong.waitForPosts(t, 2)
	for _, d := range wrong.deliveries() {
		if d.seq != backlog[0].Seq {
			t.Fatalf("the new callback was sent event %d; the first since it was set is %d", d.seq, backlog[0].Seq)
		}
	}

	right := newReceiver(nil)
	rightSrv := httptest.NewServer(right)
	defer rightSrv.Close()
	if _, _, err := e.tills.SetCallback(ctx, till.Name, rightSrv.URL+"/hook"); err != nil {
		t.Fatal(err)
	}
	submit(t, e, till, "5", 1)
	want := eventsOf(t, e, till)[3:]
	right.waitFor(t, want[len(want)-1].Seq)
	checkExactlyOnce(t, till, right.acked(), want)
}

// A URL cleared then set again starts with the next event, even while the
// loop of the old URL still runs: its saves do not take the cursor back.
func TestCallbackClearedThenSet(t *testing.T) {
	ctx := context.Background()
	e := openEnv(t, dbPath(t))
	old := newReceiver(nil)
	oldSrv := httptest.NewServer(old)
	defer oldSrv.Close()
	till := addTill(t, e, "Caisse 1", oldSrv.URL+"/hook")
	c := fast(e)
	c.Rescan = time.Hour // the old loop lives on until told
	d := webhook.New(c)
	runDeliverer(t, d)
	for round := range 3 {
		submit(t, e, till, "A"+strconv.Itoa(round), 1)
		evs := eventsOf(t, e, till)
		old.waitFor(t, evs[len(evs)-1].Seq)

		if _, _, err := e.tills.SetCallback(ctx, till.Name, ""); err != nil {
			t.Fatal(err)
		}
		submit(t, e, till, "B"+strconv.Itoa(round), 1) // may still go to the old URL
		next := newReceiver(nil)
		nextSrv := httptest.NewServer(next)
		defer nextSrv.Close()
		if _, _, err := e.tills.SetCallback(ctx, till.Name, nextSrv.URL+"/hook"); err != nil {
			t.Fatal(err)
		}
		skip := eventsOf(t, e, till)
		submit(t, e, till, "C"+strconv.Itoa(round), 1)
		d.Rescan()
		want := eventsOf(t, e, till)[len(skip):]
		next.waitFor(t, want[len(want)-1].Seq)
		checkExactlyOnce(t, till, next.acked(), want)

		if _, _, err := e.tills.SetCallback(ctx, till.Name, oldSrv.URL+"/hook"); err != nil {
			t.Fatal(err)
		}
		d.Rescan()
	}
}

// An event on its way to the old URL while the URL changes goes to the new
// one too: the old URL's answer does not count as delivered.
func TestCallbackChangedDuringDelivery(t *testing.T) {
	ctx := context.Background()
	e := openEnv(t, dbPath(t))
	got, release := make(chan struct{}), make(chan struct{})
	old := newReceiver(func(n int, _ delivery) int {
		if n == 0 {
			close(got)
			<-release
		}
		return http.StatusOK
	})
	oldSrv := httptest.NewServer(old)
	defer oldSrv.Close()
	till := addTill(t, e, "Caisse 1", oldSrv.URL+"/hook")
	c := fast(e)
	c.Rescan = time.Hour // only the old loop's refused save can start the new one
	run(t, c)
	submit(t, e, till, "1", 1)
	<-got

	next := newReceiver(nil)
	nextSrv := httptest.NewServer(next)
	defer nextSrv.Close()
	if _, _, err := e.tills.SetCallback(ctx, till.Name, nextSrv.URL+"/hook"); err != nil {
		t.Fatal(err)
	}
	close(release)
	want := eventsOf(t, e, till)
	next.waitFor(t, want[0].Seq)
	checkExactlyOnce(t, till, next.acked(), want)
}

// Bad input is refused and changes nothing.
func TestSetCallbackRefusals(t *testing.T) {
	ctx := context.Background()
	e := openEnv(t, dbPath(t))
	till := addTill(t, e, "Caisse 1", "https://till.example/hook")
	gone := addTill(t, e, "Ancienne", "")
	if err := e.tills.Revoke(ctx, gone.Name); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, till, url string
		want            func(error) bool
	}{
		{"not a URL", till.Name, "till.example/hook", isValidation},
		{"another scheme", till.Name, "ftp://till.example/hook", isValidation},
		{"no host", till.Name, "https:///hook", isValidation},
		{"too long", till.Name, "https://till.example/" + strings.Repeat("a", gateway.MaxCallbackURLLen), isValidation},
		{"unknown till", "Personne", "https://till.example/hook", func(err error) bool { return errors.Is(err, gateway.ErrNotFound) }},
		{"revoked till", gone.Name, "https://till.example/hook", func(err error) bool {
			var c *gateway.ConflictError
			return errors.As(err, &c)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := e.tills.SetCallback(ctx, tt.till, tt.url); !tt.want(err) {
				t.Errorf("SetCallback(%q, %.40q): %v", tt.till, tt.url, err)
			}
		})
	}
	got, err := e.st.TillByName(ctx, till.Name)
	if err != nil || got.CallbackURL != "https://till.example/hook" {
		t.Errorf("after the refusals the callback is %q (%v)", got.CallbackURL, err)
	}
	if _, _, err := e.tills.SetCallback(ctx, till.Name, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.st.TillByName(ctx, till.Name); got.CallbackURL != "" {
		t.Errorf("after clearing it the callback is %q", got.CallbackURL)
	}
}

func isValidation(err error) bool {
	var v *gateway.ValidationError
	return errors.As(err, &v)
}
