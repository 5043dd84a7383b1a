//go:build !linux

package main

import "testing"

// writeKiller needs strace: Linux only.
type writeKiller struct{}

func newWriteKiller(t *testing.T) *writeKiller {
	t.Log("no strace on this system: no kill inside a write")
	return nil
}

func startCrashGateway(t *testing.T, bin, data, addr string, _ *writeKiller, _ int) (*gatewayProc, bool) {
	t.Helper()
	return startGatewayAt(t, bin, data, addr), true
}

func (g *gatewayProc) killedByInjection() bool { return false }

func killGroup(int) {}
