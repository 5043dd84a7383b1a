// Package terminalsim is a simulated payment terminal that speaks the
// terminal protocol (spec/terminal-protocol.md) to a gateway: it pairs with a
// code or says hello with its token, shows the screens it is sent, answers
// them and starts scenarios with its keys, runs a simulated card step for
// each pay request, and prints (keeps) what it is asked to print.
//
// Like a real terminal it keeps what must survive a crash in a state file:
// its token, the pinned certificate, and every payment it has not finished.
// A pay request is written there before the card step starts; the card
// step's result is written there before it is sent, and removed only when
// the gateway acknowledges it. After a reconnection or a restart the
// terminal sends again every result that was not acknowledged, and answers
// the gateway's status_request from that file. A card step that a restart
// interrupted charged nothing: it is reported as cancelled.
package terminalsim
