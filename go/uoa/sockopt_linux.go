// SPDX-License-Identifier: GPL-2.0

//go:build linux && !386

package uoa

import (
	"syscall"
	"unsafe"
)

// getsockoptIP is getsockopt(fd, IPPROTO_IP, name, buf, &len) with len = len(buf) in and
// the length the kernel answered out. The look-ups never block.
func getsockoptIP(c syscall.RawConn, name int, buf []byte) (int, error) {
	n := uint32(len(buf)) // socklen_t
	var errno syscall.Errno
	err := c.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_IP, uintptr(name),
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
	})
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
