// Package listener owns the gateway's one HTTP(S) listener: the self-signed
// certificate (created on first start, written atomically, reused after),
// its fingerprint that terminals pin, the server's timeouts, and the Host
// header check that stops DNS rebinding.
package listener
