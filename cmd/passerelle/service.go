package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/kardianos/service"
)

// serviceName is the service's name for systemd (passerelle.service) and
// for Windows' service manager.
const serviceName = "passerelle"

// serviceConfig is how the service is installed: the same binary, run as
// `passerelle service run`, started at boot, restarted when it fails.
func serviceConfig(exe string) *service.Config {
	return &service.Config{
		Name:        serviceName,
		DisplayName: "Passerelle",
		Description: "Passerelle payment gateway: the shop's tills and payment terminals.",
		Executable:  exe,
		Arguments:   []string{"service", "run"},
		Option: service.KeyValue{
			// systemd: the unit of the packages, hardened, Type=notify.
			"SystemdScript": systemdUnit(exe),
			// Windows: automatic start, and a restart 5 s after any
			// failure; the failure count is forgotten after a day.
			"StartType":              "automatic",
			"OnFailure":              "restart",
			"OnFailureDelayDuration": "5s",
			"OnFailureResetPeriod":   86400,
		},
	}
}

const serviceUsage = "usage: passerelle service install|uninstall|start|stop|restart|status"

// serviceCommand installs and controls the system service through the
// platform's manager (systemd, Windows' service manager); `service run` is
// what that manager runs.
func serviceCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, serviceUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("service "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var data *string
	if args[0] == "run" {
		data = fs.String("data", serviceDataDir(), "data directory")
	}
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	switch args[0] {
	case "run":
		return runService(ctx, *data, stderr)
	case "install":
		if err := beforeInstall(stdout); err != nil {
			return err
		}
	case "uninstall", "start", "stop", "restart", "status":
	default:
		fmt.Fprintln(stderr, serviceUsage)
		return errUsage
	}
	s, err := service.New(&program{}, serviceConfig(exe))
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	if args[0] == "status" {
		st, err := s.Status()
		switch {
		case errors.Is(err, service.ErrNotInstalled):
			fmt.Fprintln(stdout, "not installed")
			return nil
		case err != nil:
			return fmt.Errorf("service status (%s): %w", s.Platform(), err)
		case st == service.StatusRunning:
			fmt.Fprintln(stdout, "running")
		case st == service.StatusStopped:
			fmt.Fprintln(stdout, "stopped")
		default:
			fmt.Fprintln(stdout, "unknown")
		}
		return nil
	}
	if err := service.Control(s, args[0]); err != nil {
		return fmt.Errorf("service (%s): %w", s.Platform(), err)
	}
	fmt.Fprintf(stdout, "service %s: %s done\n", serviceName, args[0])
	if args[0] == "install" {
		fmt.Fprintf(stdout, "data directory: %s; start it with `passerelle service start`\n", serviceDataDir())
	}
	return nil
}

// runService is the gateway as the platform's service manager runs it: the
// same serve as `passerelle run`, started by the manager's start and
// stopped by its stop request exactly as by SIGTERM (ctx, from main, is
// cancelled by SIGTERM and Ctrl-C too).
func runService(ctx context.Context, data string, stderr io.Writer) error {
	p := &program{parent: ctx}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	cfg := serviceConfig(exe)
	// Where there is no signal handler of the manager's own (systemd), Run
	// waits for this: a stop request (ctx), or the gateway's own failure,
	// so that the process then exits with its error and is restarted.
	cfg.Option["RunWait"] = func() {
		select {
		case <-ctx.Done():
		case <-p.exited():
		}
	}
	s, err := service.New(p, cfg)
	if err != nil {
		return fmt.Errorf("service: %w", err)
	}
	log, err := serviceLogger(s, stderr)
	if err != nil {
		return err
	}
	p.log = log
	p.serve = func(ctx context.Context) error {
		if err := prepareServiceData(data); err != nil {
			return err
		}
		gcfg, err := loadConfig(data)
		if err != nil {
			return err
		}
		return serve(ctx, data, gcfg, tuning{}, log)
	}
	if err := s.Run(); err != nil {
		log.Error("passerelle failed", "err", err)
		return err
	}
	return nil
}

// program is the gateway behind kardianos/service's Interface: Start only
// launches it, Stop cancels it and waits for the clean shutdown.
type program struct {
	parent context.Context
	serve  func(context.Context) error
	log    *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

var _ service.Interface = (*program)(nil)

func (p *program) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

func (p *program) Start(service.Service) error {
	ctx, cancel := context.WithCancel(p.parent)
	p.mu.Lock()
	p.cancel, p.done = cancel, make(chan struct{})
	p.mu.Unlock()
	go func() {
		err := p.serve(ctx)
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
		if err != nil && ctx.Err() == nil {
			failed(p.log, err)
		}
	}()
	return nil
}

func (p *program) Stop(service.Service) error {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// levelWriter sends what a slog handler writes to the service manager's
// logger, at the level of the record being written.
type levelWriter struct {
	mu    sync.Mutex
	level slog.Level
	to    service.Logger
}

func (w *levelWriter) Write(b []byte) (int, error) {
	msg := string(bytes.TrimSuffix(b, []byte("\n")))
	var err error
	switch {
	case w.level >= slog.LevelError:
		err = w.to.Error(msg)
	case w.level >= slog.LevelWarn:
		err = w.to.Warning(msg)
	default:
		err = w.to.Info(msg)
	}
	return len(b), err
}

// managerHandler is a slog handler that writes to a service.Logger (the
// Windows event log): text records without the time, which the log adds,
// each at its own level.
type managerHandler struct {
	text slog.Handler
	w    *levelWriter
}

func newManagerHandler(to service.Logger) *managerHandler {
	w := &levelWriter{to: to}
	return &managerHandler{w: w, text: slog.NewTextHandler(w, &slog.HandlerOptions{ReplaceAttr: dropTime})}
}

func (h *managerHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.text.Enabled(ctx, l)
}

func (h *managerHandler) Handle(ctx context.Context, r slog.Record) error {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	h.w.level = r.Level
	return h.text.Handle(ctx, r)
}

func (h *managerHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &managerHandler{text: h.text.WithAttrs(as), w: h.w}
}

func (h *managerHandler) WithGroup(name string) slog.Handler {
	return &managerHandler{text: h.text.WithGroup(name), w: h.w}
}

// dropTime removes the record's time: the journal and the event log stamp
// each line themselves.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
