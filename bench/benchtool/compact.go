package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/passerelle/passerelle/store"
)

// compact measures the event log's compaction on a data directory: the
// database's size per ticket before and after (each measured on a compact
// copy, VACUUM INTO, so that free pages do not count), and the time the
// compaction took in batches through the writer. --keep is the policy's
// age; 0s compacts every event that the webhooks and the hub have.
func compact(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("compact", flag.ContinueOnError)
	data := fs.String("data", "", "the gateway's data directory")
	keep := fs.Duration("keep", 0, "keep events younger than this whole")
	batch := fs.Int("batch", 500, "events per write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *data == "" {
		return fmt.Errorf("compact: --data is required")
	}
	st, _, err := openData(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	before, err := compactSize(ctx, st, *data)
	if err != nil {
		return err
	}
	start := time.Now()
	r, err := st.CompactEvents(ctx, store.Retention{KeepFull: max(*keep, time.Nanosecond), Batch: *batch}, time.Now())
	if err != nil {
		return err
	}
	took := time.Since(start)
	after, err := compactSize(ctx, st, *data)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "tickets %d; events compacted %d (through %d) in %d batches of %d, %.1f s\n",
		after.Tickets, r.Events, r.Through, r.Batches, *batch, took.Seconds())
	fmt.Fprintf(out, "size %.1f MB before, %.1f MB after; %.0f bytes a ticket before, %.0f after\n",
		float64(before.bytes)/1e6, float64(after.bytes)/1e6,
		float64(before.bytes)/float64(max(before.Tickets, 1)), float64(after.bytes)/float64(max(after.Tickets, 1)))
	return nil
}

type sized struct {
	store.BackupInfo
	bytes int64
}

func compactSize(ctx context.Context, st *store.Store, data string) (sized, error) {
	dir, err := os.MkdirTemp(data, ".measure-")
	if err != nil {
		return sized{}, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "copy.db")
	info, err := st.BackupTo(ctx, path)
	if err != nil {
		return sized{}, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return sized{}, err
	}
	return sized{info, fi.Size()}, nil
}
