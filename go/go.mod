// SPDX-License-Identifier: GPL-2.0
// The Go module of toa_uoa: package toa_uoa/uoa (UDP look-ups) and its example server.
// Standard library only; Go 1.19 (Debian 12's golang-go) and later.
module toa_uoa

go 1.19
