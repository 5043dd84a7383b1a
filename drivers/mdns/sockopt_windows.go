package mdns

import "syscall"

// reuseAddr lets a socket bind port 5353 beside the other mDNS sockets of
// the box, which all set SO_REUSEADDR.
func reuseAddr(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(syscall.Handle(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
