// Package gateway is Passerelle's domain core: tickets and their money, the
// event log that tells tills what happened, tills and their keys, the
// configuration, and the small interfaces it needs from persistence.
//
// It imports none of Passerelle's other packages: drivers, web, sync and store
// depend on it, never the other way round.
package gateway
