package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux the box runs.
const clockTicks = 100

// proc samples a process's resident memory and CPU time for a while and
// prints one line: RSS at the end, mean and peak sampled, VmHWM, and the
// CPU it used as a percentage of one core.
func proc(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("proc", flag.ContinueOnError)
	pid := fs.Int("pid", 0, "the process")
	span := fs.Duration("for", 10*time.Second, "how long to sample")
	every := fs.Duration("every", time.Second, "sampling interval")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *pid <= 0 || *span <= 0 || *every <= 0 {
		return fmt.Errorf("proc: --pid, --for and --every must be positive")
	}
	cpu0, err := cpuTicks(*pid)
	if err != nil {
		return err
	}
	start := time.Now()
	var sum, peak, last, n int64
	sample := func() error {
		rss, _, err := memory(*pid)
		if err != nil {
			return err
		}
		sum, n, last, peak = sum+rss, n+1, rss, max(peak, rss)
		return nil
	}
	if err := sample(); err != nil {
		return err
	}
	t := time.NewTicker(*every)
	defer t.Stop()
	end := time.NewTimer(*span)
	defer end.Stop()
loop:
	for {
		select {
		case <-t.C:
			if err := sample(); err != nil {
				return err
			}
		case <-end.C:
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	if err := sample(); err != nil {
		return err
	}
	cpu1, err := cpuTicks(*pid)
	if err != nil {
		return err
	}
	_, hwm, err := memory(*pid)
	if err != nil {
		return err
	}
	el := time.Since(start)
	cpu := float64(cpu1-cpu0) / clockTicks / el.Seconds() * 100
	fmt.Fprintf(out, "proc: rss %.1f MiB, mean %.1f MiB, peak %.1f MiB sampled, hwm %.1f MiB, cpu %.2f %% over %.1f s\n",
		mib(last), mib(sum/n), mib(peak), mib(hwm), cpu, el.Seconds())
	return nil
}

func mib(kb int64) float64 { return float64(kb) / 1024 }

// memory returns VmRSS and VmHWM in KiB.
func memory(pid int) (rss, hwm int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("proc: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("proc: %s: %w", k, err)
		}
		if k == "VmRSS" {
			rss = n
		} else {
			hwm = n
		}
	}
	return rss, hwm, nil
}

// cpuTicks returns utime+stime from /proc/PID/stat.
func cpuTicks(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("proc: %w", err)
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after its closing one. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc: unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("proc: unexpected /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("proc: unexpected /proc/%d/stat", pid)
	}
	return u + s, nil
}
