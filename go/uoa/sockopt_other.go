// SPDX-License-Identifier: GPL-2.0

//go:build !linux || 386

package uoa

import "syscall"

// getsockoptIP: the toa_uoa module exists on Linux only (and this package calls
// getsockopt directly, which 32-bit x86 Linux reaches through socketcall): nothing serves
// the look-ups here, as on Linux without the module.
func getsockoptIP(c syscall.RawConn, name int, buf []byte) (int, error) {
	return 0, syscall.ENOPROTOOPT
}
