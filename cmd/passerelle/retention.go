package main

import (
	"time"

	"github.com/passerelle/passerelle/gateway"
	"github.com/passerelle/passerelle/store"
)

// retentionEvery is how often the event log's compaction runs: what it
// compacts became old enough an hour ago at most.
const retentionEvery = time.Hour

// retentionPolicy is the store's compaction policy from the configuration.
// The upstream bounds the horizon once a hub is set (enabled or paused:
// a paused sync resumes where it stopped and needs its events whole), and
// when its settings cannot be read.
func retentionPolicy(cfg gateway.Config, upstream func() (gateway.Upstream, error)) store.Retention {
	return store.Retention{
		KeepFull: time.Duration(cfg.Retention.CompactEventsAfterDays) * 24 * time.Hour,
		UpstreamOn: func() bool {
			set, err := upstream()
			return err != nil || set.URL != ""
		},
		Batch: 500,
		Pause: 50 * time.Millisecond,
	}
}
