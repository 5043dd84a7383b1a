// Package capture stands in front of a till's ESC/POS network printer
// (raw TCP, "port 9100"): it passes every byte on to the printer at once,
// the printer's answers back to the till, and reads each job's note into
// a ticket (packages escpos and notes).
//
// Pass-through comes first. A capture printer handles one till
// connection at a time, as a printer does; while the printer answers,
// each chunk the till sends is written to it before it is decoded. When
// the printer does not answer, the connection's bytes go to a spool on
// disk (one file per connection, fsynced, renamed into place when the
// till closes), and a forwarder sends the files in order when the printer
// answers again, deleting each once sent. While files wait, new
// connections go to the spool too, behind them, so that the order stays
// the till's. docs/capture.md says what is guaranteed after a crash.
package capture
