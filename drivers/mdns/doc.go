// Package mdns owns the LAN side of the terminal protocol's discovery
// (spec/terminal-protocol.md, Discovery; docs/discovery.md): announcing a
// service over mDNS/DNS-SD, finding the others, and the TXT records both
// carry.
//
//   - Advertiser announces one instance (the gateway's _passerelle._tcp,
//     or a terminal's _passerelle-tpe._tcp) with github.com/grandcat/zeroconf's
//     RegisterProxy, under an explicit host name and the addresses of the
//     interfaces chosen (Select: up, multicast, not loopback, or the ones
//     named), announces again when those addresses change, and withdraws
//     the announcement on shutdown. Beside it, a small unicast responder
//     on each IPv4 address answers legacy unicast queries (RFC 6762 §6.7),
//     which zeroconf leaves unanswered.
//   - Browser finds the instances of a service, per responder: it is ours
//     rather than zeroconf's Resolver, which reports one answer per
//     instance name, hiding a second box that announces the same name
//     (see Browser). GatewayList keeps the gateways a terminal hears.
//   - ParseGatewayTXT and ParseTerminalTXT read what others announce, which
//     anyone on the LAN can forge: they refuse what is out of shape, and a
//     terminal trusts nothing of it beyond where to knock; the
//     certificate it pinned at pairing decides (drivers/terminalsim).
package mdns
