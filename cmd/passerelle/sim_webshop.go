package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/passerelle/passerelle/drivers/tillsim"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/sync/hub"
)

// simWebshop is a web shop ("site marchand"): it posts an order to the
// hub for a shop, then follows it until the shop has it paid.
func simWebshop(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim webshop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hubURL := fs.String("url", "", "the hub's URL")
	storeID := fs.String("store", "", "the shop's store_id")
	key := fs.String("key", os.Getenv("PASSERELLE_WEBSHOP_KEY"), "the web shop's key (env PASSERELLE_WEBSHOP_KEY)")
	fingerprint := fs.String("fingerprint", "", "pin the hub's self-signed certificate by its SHA-256")
	insecure := fs.Bool("insecure", false, "do not check the hub's certificate (a demo on one box)")
	ref := fs.String("ref", "", "the order's ref (default W-<time>)")
	table := fs.String("table", "", "the table booked (what the waiter types on the terminal)")
	total := fs.Int64("total", 2350, "the order's total in cents (one line)")
	follow := fs.Duration("follow", 10*time.Minute, "follow the order until paid or cancelled, at most this long (0: post only)")
	every := fs.Duration("every", time.Second, "how often to read the order back while following it")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *hubURL == "" || *storeID == "" || *key == "" {
		fmt.Fprintln(stderr, "usage: passerelle sim webshop --url HUB --store ID --key KEY [--table T] [--total CENTS] [--follow 10m]")
		return errUsage
	}
	tlsConf, err := tillsim.TLSConfig(*fingerprint, *insecure)
	if err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	if *ref == "" {
		*ref = "W-" + time.Now().UTC().Format("150405")
	}
	in := gateway.TicketInput{Ref: *ref, Table: *table, Server: "Site web",
		Lines: []gateway.Line{{Label: "Commande en ligne", Qty: 1, UnitPrice: *total, VATRate: 1000}}, Total: *total}
	base := strings.TrimRight(*hubURL, "/") + "/api/v1/stores/" + url.PathEscape(*storeID) + "/orders"
	status, body, err := webshopCall(ctx, hc, http.MethodPost, base, *key, in)
	if err != nil {
		return err
	}
	if status != http.StatusCreated && status != http.StatusOK {
		return fmt.Errorf("sim webshop: the hub answered %d: %s", status, bytes.TrimSpace(body))
	}
	fmt.Fprintf(stdout, "order %s posted (table %q, %s): %d\n", *ref, *table, euros(total), status)
	if *follow <= 0 {
		return nil
	}
	return followOrder(ctx, hc, base+"/"+url.PathEscape(*ref), *key, *follow, *every, stdout)
}

// followOrder reads the order back until the shop reports it paid or
// cancelled, saying each change of status.
func followOrder(ctx context.Context, hc *http.Client, u, key string, limit, every time.Duration, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	last := ""
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		status, body, err := webshopCall(ctx, hc, http.MethodGet, u, key, nil)
		if err != nil && ctx.Err() == nil {
			fmt.Fprintln(stdout, "read back:", err)
		}
		var v hub.OrderView
		if err == nil && status == http.StatusOK && json.Unmarshal(body, &v) == nil {
			now := fmt.Sprintf("%s reported=%v paid=%s due=%s", v.Status, v.Reported, euros(&v.Paid), euros(&v.Due))
			if now != last {
				fmt.Fprintln(stdout, "order", v.Ref+":", now)
				last = now
			}
			for _, p := range v.Payments {
				if v.Status == hub.OrderPaid && p.Status == string(gateway.PaymentApproved) {
					fmt.Fprintf(stdout, "  payment %s %s %s transaction_ref %s auth %s\n", p.PaymentID, p.Status, euros(&p.Amount), p.TransactionRef, p.AuthCode)
				}
			}
			if v.Status == hub.OrderPaid || v.Status == hub.OrderCancelled {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("sim webshop: not paid within %s", limit)
			}
			return nil
		case <-t.C:
		}
	}
}

func webshopCall(ctx context.Context, hc *http.Client, method, u, key string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("sim webshop: %w", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, out, err
}
