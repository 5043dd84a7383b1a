// Package tillsim is a simulated restaurant till that speaks the till API.
//
// It is both the demo (a few tickets, the event stream printed as it goes)
// and the load tool (thousands of tickets at a set rate or as fast as the
// gateway takes them, with latency percentiles). Everything it sends is
// generated from a seed, so that a run can be replayed and its tickets
// checked against the gateway's own rules.
package tillsim
