//go:build unix

package mdns

import "syscall"

// reuseAddr lets a socket bind port 5353 beside the other mDNS sockets of
// the box (zeroconf's, avahi-daemon's), which all set SO_REUSEADDR.
func reuseAddr(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
