package capture

import (
	"context"
	"fmt"

	"github.com/passerelle/passerelle/drivers/escpos"
	"github.com/passerelle/passerelle/gateway"
)

// process reads the decoded jobs into tickets, one at a time, away from
// the pass-through.
func (c *Capture) process(ctx context.Context) {
	for {
		select {
		case j := <-c.work:
			c.read1(ctx, j)
		case <-ctx.Done():
			// Jobs decoded before the end are still read.
			for {
				select {
				case j := <-c.work:
					c.read1(context.WithoutCancel(ctx), j)
				default:
					return
				}
			}
		}
	}
}

// read1 reads one job and records what became of it.
func (c *Capture) read1(ctx context.Context, j escpos.Job) {
	text := j.Text()
	if gateway.LooksLikePAN(text) {
		// Forwarded, as every byte is, but nothing of it is kept.
		c.mu.Lock()
		c.cardJobs++
		c.mu.Unlock()
		c.log.Warn("a job with a card number was printed: nothing of it is stored", "bytes", len(j.Raw))
		return
	}
	now := c.cfg.Now().UTC()
	rec := Job{ID: gateway.NewID("cjob", now), Printer: c.cfg.Printer.Name, At: now, Bytes: len(j.Raw), Text: text}
	switch {
	case j.Unknown > 0:
		rec.Status, rec.Reason = JobUnparsed, fmt.Sprintf("%d ESC/POS commands not known", j.Unknown)
	case j.Truncated:
		rec.Status, rec.Reason = JobUnparsed, "the job is larger than capture reads"
	default:
		c.submit(ctx, &rec, j)
	}
	if err := c.jobs.add(rec); err != nil {
		c.log.Error("a job could not be recorded", "err", err)
	}
	c.mu.Lock()
	c.read++
	c.mu.Unlock()
	c.log.Info("job read", "job", rec.ID, "status", rec.Status, "reason", rec.Reason, "ticket", rec.TicketID)
}

func (c *Capture) submit(ctx context.Context, rec *Job, j escpos.Job) {
	in, err := c.cfg.Template.Read(j.Lines)
	if err != nil {
		rec.Status, rec.Reason = JobUnparsed, err.Error()
		return
	}
	rec.Read = &in
	t, res, err := c.cfg.Submit(ctx, c.cfg.Printer.Till, in)
	if err != nil {
		rec.Status, rec.Reason = JobRefused, err.Error()
		return
	}
	rec.TicketID = t.ID
	switch res {
	case gateway.Created:
		rec.Status = JobCreated
	case gateway.Updated:
		rec.Status = JobUpdated
	default:
		rec.Status = JobUnchanged
	}
}
