// Package terminalws serves the terminal protocol of spec/terminal-protocol.md
// at /ws/terminal: pairing and hello, the scenario screens, payments and their
// results, printing. Each connection has one reader goroutine, one loop
// goroutine that owns the terminal's scenario session, so a session is
// never touched by two goroutines at once, and, while messages wait for the
// terminal, one writer goroutine (the only one that writes to the socket:
// writes, pings included, are serialised). An idle terminal has no writer:
// a timer queues its pings.
//
// Limits, all explicit: frames over MaxFrame bytes get an error and change
// nothing, frames over HardReadLimit close the connection; more than
// MaxBadMessages malformed messages in a row, or a sustained rate above
// MessagesPerSecond, disconnects the terminal; a terminal silent for
// ReadTimeout is offline.
package terminalws
