package capture

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/passerelle/passerelle/gateway"
)

// What became of a job.
const (
	JobCreated   = "created"   // a new ticket
	JobUpdated   = "updated"   // a new version of an open note
	JobUnchanged = "unchanged" // a reprint
	JobUnparsed  = "unparsed"  // kept with its text only
	JobRefused   = "refused"   // read, but the ticket's rules refused it
)

// Job is what capture keeps of a print job.
type Job struct {
	ID       string               `json:"id"`
	Printer  string               `json:"printer"`
	At       time.Time            `json:"at"`
	Status   string               `json:"status"`
	Reason   string               `json:"reason,omitempty"`
	Bytes    int                  `json:"bytes"`
	Text     string               `json:"text"`
	Read     *gateway.TicketInput `json:"read,omitempty"`
	TicketID string               `json:"ticket_id,omitempty"`
}

// Limits of the job log.
const (
	jobsFile    = "jobs.jsonl"
	maxJobsKept = 500 // the log is cut back to this many when twice as long
)

// jobLog is a printer's recent jobs, in a JSON-lines file that the CLI
// reads too.
type jobLog struct {
	path string
	mu   sync.Mutex
	n    int
}

func openJobLog(dir string) (*jobLog, error) {
	l := &jobLog{path: filepath.Join(dir, jobsFile)}
	jobs, err := ReadJobs(dir)
	if err != nil {
		return nil, err
	}
	l.n = len(jobs)
	return l, nil
}

// add appends j, and cuts the file back when it is twice maxJobsKept.
func (l *jobLog) add(j Job) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("capture: jobs: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("capture: jobs: %w", err)
	}
	l.n++
	if l.n >= 2*maxJobsKept {
		return l.cut()
	}
	return nil
}

func (l *jobLog) cut() error {
	jobs, err := ReadJobs(filepath.Dir(l.path))
	if err != nil {
		return err
	}
	jobs = jobs[max(0, len(jobs)-maxJobsKept):]
	var buf bytes.Buffer
	for _, j := range jobs {
		b, _ := json.Marshal(j)
		buf.Write(append(b, '\n'))
	}
	tmp := l.path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("capture: jobs: %w", err)
	}
	if err := os.Rename(tmp, l.path); err != nil {
		return fmt.Errorf("capture: jobs: %w", err)
	}
	l.n = len(jobs)
	return nil
}

// ReadJobs reads the jobs a capture printer's folder keeps, oldest first.
// A line cut short by a crash is skipped.
func ReadJobs(dir string) ([]Job, error) {
	f, err := os.Open(filepath.Join(dir, jobsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("capture: jobs: %w", err)
	}
	defer f.Close()
	var out []Job
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var j Job
		if json.Unmarshal(sc.Bytes(), &j) == nil {
			out = append(out, j)
		}
	}
	return out, sc.Err()
}
