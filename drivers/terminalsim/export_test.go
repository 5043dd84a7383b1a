package terminalsim

import "time"

// CardResultForTest exposes the simulated kernel's results to the tests.
func CardResultForTest(p Payment, o Outcome) Result {
	status := "approved"
	if o == Decline {
		status = "declined"
	}
	return *cardResult(p, status, time.Now())
}

// SetCardHook has f called once Card runs a card step.
func SetCardHook(t *Terminal, f func()) {
	t.mu.Lock()
	t.cardHook = f
	t.mu.Unlock()
}

// SaveStateForTest writes a state file as the terminal does.
func SaveStateForTest(path string, s State) error { return saveState(path, s) }

// AskSnapshot sends a v1.1 snapshot, as the terminal does after a gap.
func AskSnapshot(t *Terminal) error {
	return t.send(snapshotMsg{Type: "snapshot"})
}
