// SPDX-License-Identifier: GPL-2.0

package uoa

import (
	"errors"
	"syscall"
)

// Why a look-up failed. The look-up functions return a *LookupError; errors.Is matches it
// against these (and against the errno the kernel gave, e.g. syscall.ENOENT).
var (
	// ErrNoRecord (ENOENT): the module has no record for this tuple: the datagram carried
	// no option, or its record expired. The address the datagram came from is all there is.
	ErrNoRecord = errors.New("no toa_uoa record for this tuple (ENOENT)")
	// ErrModuleNotLoaded (ENOPROTOOPT): nothing serves the look-up: the toa_uoa module is
	// not loaded (or the look-up ran on a system other than Linux).
	ErrModuleNotLoaded = errors.New("toa_uoa module not loaded (ENOPROTOOPT)")
	// ErrInvalid (EINVAL): the module refused the input, or this package did (no source
	// address, source and destination of different families, a bad layout).
	ErrInvalid = errors.New("toa_uoa look-up refused as invalid (EINVAL)")
	// ErrFamilyNotSupported (EAFNOSUPPORT): the v0 layout asked for cannot say the
	// client's family (use v1 or the 58-byte v0).
	ErrFamilyNotSupported = errors.New("address family not supported by this toa_uoa look-up (EAFNOSUPPORT)")
	// ErrBadAnswer: the kernel's answer is not one this package can read (an unknown
	// family or size): whatever serves the socket option is not toa_uoa's ABI.
	ErrBadAnswer = errors.New("unexpected toa_uoa look-up answer")
)

// LookupError is the error of a look-up: which one (Op: "v1", "v0" and the layout's size),
// the errno the kernel answered (0 if the call was not made or succeeded) and Err, one of
// the Err* values above or, for an errno without one, the syscall.Errno itself.
type LookupError struct {
	Op    string
	Errno syscall.Errno
	Err   error
}

func (e *LookupError) Error() string {
	return "toa_uoa " + e.Op + " look-up: " + e.Err.Error()
}

// Unwrap gives Err: errors.Is(err, uoa.ErrNoRecord) and the like.
func (e *LookupError) Unwrap() error { return e.Err }

// Is matches the errno too: errors.Is(err, syscall.ENOENT).
func (e *LookupError) Is(target error) bool {
	errno, ok := target.(syscall.Errno)
	return ok && e.Errno != 0 && errno == e.Errno
}

// errnoError is the LookupError of a failed getsockopt.
func errnoError(op string, errno syscall.Errno) *LookupError {
	var err error
	switch errno {
	case syscall.ENOENT:
		err = ErrNoRecord
	case syscall.ENOPROTOOPT:
		err = ErrModuleNotLoaded
	case syscall.EINVAL:
		err = ErrInvalid
	case syscall.EAFNOSUPPORT:
		err = ErrFamilyNotSupported
	default:
		err = errno
	}
	return &LookupError{Op: op, Errno: errno, Err: err}
}
