package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/passerelle/passerelle/drivers/capture"
	"github.com/passerelle/passerelle/drivers/escpos"
	"github.com/passerelle/passerelle/drivers/notes"
	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/web/views"
)

// Folders of print capture in the data directory.
const (
	captureDir   = "capture"   // one folder per capture printer: spool, jobs, state
	templatesDir = "templates" // the template files a capture printer may name
)

// newCaptures builds the capture printers of cfg.
func newCaptures(cfg gateway.Config, data string, tickets *gateway.Tickets, log *slog.Logger) ([]*capture.Capture, error) {
	cps := escpos.NewCodePages()
	var out []*capture.Capture
	for _, p := range cfg.Capture {
		tpl, err := loadTemplate(data, p.Template)
		if err != nil {
			return nil, fmt.Errorf("capture %s: %w", p.Name, err)
		}
		c, err := capture.New(capture.Config{Printer: p, Dir: filepath.Join(data, captureDir, p.Name), Template: tpl,
			CodePages: cps, Submit: tickets.SubmitCapture, Log: log, Limits: capture.DefaultLimits})
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// loadTemplate returns the built-in default, or templates/NAME(.yaml) of
// the data directory.
func loadTemplate(data, name string) (*notes.Template, error) {
	if name == "" || name == "default" {
		return notes.Default(), nil
	}
	path := filepath.Join(data, templatesDir, name)
	if !strings.HasSuffix(name, ".yaml") {
		path += ".yaml"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	return notes.Parse(b)
}

func captureCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: passerelle capture list [--json] | jobs [--name N] [--unparsed] [--json]")
		return errUsage
	}
	fs := flag.NewFlagSet("capture "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	switch args[0] {
	case "list":
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
			return errUsage
		}
		return captureList(*data, *asJSON, stdout)
	case "jobs":
		name := fs.String("name", "", "only this capture printer's jobs")
		unparsed := fs.Bool("unparsed", false, "only the jobs not read into a ticket")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
			return errUsage
		}
		return captureJobs(*data, *name, *unparsed, *asJSON, stdout)
	}
	fmt.Fprintln(stderr, "usage: passerelle capture list|jobs")
	return errUsage
}

func captureList(data string, asJSON bool, stdout io.Writer) error {
	cfg, err := loadConfig(data)
	if err != nil {
		return err
	}
	var out []capture.Status
	for _, p := range cfg.Capture {
		dir := filepath.Join(data, captureDir, p.Name)
		tpl := p.Template
		if tpl == "" {
			tpl = "default"
		}
		out = append(out, capture.Status{Name: p.Name, Listen: p.Listen, Forward: p.Forward, Till: p.Till, Template: tpl,
			Online: capture.ReadOnline(dir), Waiting: capture.WaitingFiles(dir)})
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(out)
	}
	if len(out) == 0 {
		fmt.Fprintln(stdout, "no capture printer: add one under capture: in passerelle.yaml (docs/capture.md)")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tLISTEN\tFORWARD\tTILL\tTEMPLATE\tPRINTER\tWAITING")
	for _, s := range out {
		state := "not tried"
		if s.Forward == "" {
			state = "none (capture only)"
		} else if s.Online != nil && *s.Online {
			state = "online"
		} else if s.Online != nil {
			state = "offline"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", s.Name, s.Listen, s.Forward, s.Till, s.Template, state, s.Waiting)
	}
	return tw.Flush()
}

func captureJobs(data, name string, unparsed, asJSON bool, stdout io.Writer) error {
	cfg, err := loadConfig(data)
	if err != nil {
		return err
	}
	var jobs []capture.Job
	for _, p := range cfg.Capture {
		if name != "" && p.Name != name {
			continue
		}
		js, err := capture.ReadJobs(filepath.Join(data, captureDir, p.Name))
		if err != nil {
			return err
		}
		for _, j := range js {
			if !unparsed || j.Status == capture.JobUnparsed || j.Status == capture.JobRefused {
				jobs = append(jobs, j)
			}
		}
	}
	if asJSON {
		if jobs == nil {
			jobs = []capture.Job{}
		}
		return json.NewEncoder(stdout).Encode(jobs)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tPRINTER\tSTATUS\tREF\tTOTAL\tREASON")
	for _, j := range jobs {
		ref, total := "", ""
		if j.Read != nil {
			ref, total = j.Read.Ref, gateway.FormatCents(j.Read.Total)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", j.At.Local().Format("2006-01-02 15:04:05"), j.Printer, j.Status, ref, total, j.Reason)
	}
	return tw.Flush()
}

// simPrinter runs a network receipt printer that writes what it
// receives and answers status requests.
func simPrinter(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim printer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9101", "where the printer listens (raw TCP, as port 9100)")
	out := fs.String("out", "-", "file the received bytes are appended to, - for standard output")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	w := stdout
	if *out != "-" {
		f, err := os.OpenFile(*out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "sim printer listening on %s\n", ln.Addr())
	return (&capture.SimPrinter{Out: w}).Serve(ctx, ln)
}

// captureView is the admin page's view of the capture printers.
type captureView struct {
	captures []*capture.Capture
	data     string
}

func (v captureView) CapturePrinters(context.Context) []views.CapturePrinter {
	out := make([]views.CapturePrinter, 0, len(v.captures))
	for _, c := range v.captures {
		s := c.Status()
		out = append(out, views.CapturePrinter{Name: s.Name, Listen: s.Listen, Forward: s.Forward, Till: s.Till,
			Template: s.Template, Online: s.Online, Waiting: s.Waiting})
	}
	return out
}

func (v captureView) CaptureJobs(_ context.Context, limit int) []views.CaptureJob {
	var all []capture.Job
	for _, c := range v.captures {
		js, _ := capture.ReadJobs(filepath.Join(v.data, captureDir, c.Status().Name))
		all = append(all, js...)
	}
	slices.SortFunc(all, func(a, b capture.Job) int { return b.At.Compare(a.At) })
	all = all[:min(limit, len(all))]
	out := make([]views.CaptureJob, len(all))
	for i, j := range all {
		out[i] = views.CaptureJob{ID: j.ID, At: j.At, Printer: j.Printer, Status: j.Status, Reason: j.Reason, Text: j.Text}
		if j.Read != nil {
			out[i].HasRead, out[i].Ref, out[i].Total = true, j.Read.Ref, j.Read.Total
		}
	}
	return out
}

// job finds a recent job by its ID.
func (v captureView) job(id string) (capture.Job, bool) {
	for _, c := range v.captures {
		js, _ := capture.ReadJobs(filepath.Join(v.data, captureDir, c.Status().Name))
		for _, j := range js {
			if j.ID == id {
				return j, true
			}
		}
	}
	return capture.Job{}, false
}

func (v captureView) TryTemplate(_ context.Context, jobID, source string) (string, string, views.TemplateTry, error) {
	j, ok := v.job(jobID)
	if !ok {
		return "", "", views.TemplateTry{}, fmt.Errorf("capture job %q: %w", jobID, gateway.ErrNotFound)
	}
	if source == "" {
		source = notes.DefaultSource()
	}
	return j.Text, source, tryTemplate(source, j.Text), nil
}

// tryTemplate reads text with the template source.
func tryTemplate(source, text string) views.TemplateTry {
	try := views.TemplateTry{Tried: true}
	tpl, err := notes.Parse([]byte(source))
	if err != nil {
		try.Error = err.Error()
		return try
	}
	in, err := tpl.Read(strings.Split(text, "\n"))
	if err != nil {
		try.Error = err.Error()
		return try
	}
	try.Ref, try.Table, try.Lines, try.Total = in.Ref, in.Table, in.Lines, in.Total
	return try
}

func (v captureView) SaveTemplate(ctx context.Context, name, jobID, source string) (views.TemplateTry, error) {
	_, _, try, err := v.TryTemplate(ctx, jobID, source)
	if err != nil {
		return try, err
	}
	var fields []gateway.FieldError
	if !gateway.IsHostLabel(name) || name == "default" {
		fields = append(fields, gateway.FieldError{Field: "name", Message: "letters, digits and hyphens, not \"default\""})
	}
	if try.Error != "" {
		fields = append(fields, gateway.FieldError{Field: "source", Message: "the template does not read this note: " + try.Error})
	}
	if len(fields) > 0 {
		return try, &gateway.ValidationError{Fields: fields}
	}
	dir := filepath.Join(v.data, templatesDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return try, fmt.Errorf("templates: %w", err)
	}
	tmp := filepath.Join(dir, "."+name+".yaml.tmp")
	if err := os.WriteFile(tmp, []byte(source), 0o600); err != nil {
		return try, fmt.Errorf("templates: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name+".yaml")); err != nil {
		return try, fmt.Errorf("templates: %w", err)
	}
	return try, nil
}
