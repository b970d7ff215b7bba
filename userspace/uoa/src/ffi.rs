// SPDX-License-Identifier: GPL-2.0

//! The crate's only unsafe code: getsockopt, getpeername and getsockname through libc.

#![allow(unsafe_code)]

use std::io;
use std::mem::size_of;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd};

use crate::abi::{FourTuple, UoaParamMap, UoaParamMapIpv4, UoaParamMapNoRealAf};

/// A structure the kernel may read and overwrite byte by byte.
///
/// # Safety
/// Implementors are `repr(C)` or `repr(C, packed)`, have no padding, and every field is an
/// integer or an integer array, so every byte pattern is a valid value.
pub(crate) unsafe trait Pod: Copy {}

// SAFETY: repr(C, packed), fields u16 and u8 arrays only.
unsafe impl Pod for UoaParamMap {}
// SAFETY: repr(C, packed), fields u16 and u8 arrays only.
unsafe impl Pod for UoaParamMapNoRealAf {}
// SAFETY: repr(C, packed), u8 arrays only.
unsafe impl Pod for UoaParamMapIpv4 {}
// SAFETY: repr(C), u32 then u8 arrays (4 + 2 + 2 + 32 bytes: no padding, checked by a test).
unsafe impl Pod for FourTuple {}

/// getsockopt(fd, IPPROTO_IP, optname, val, sizeof(*val)): `val` is the input and receives
/// the output. Returns the length the kernel reported.
pub(crate) fn getsockopt_ip<T: Pod>(
    fd: BorrowedFd<'_>,
    optname: libc::c_int,
    val: &mut T,
) -> io::Result<usize> {
    let mut len =
        libc::socklen_t::try_from(size_of::<T>()).map_err(|_| io::ErrorKind::InvalidInput)?;
    // SAFETY: `fd` is an open descriptor for the duration of the borrow; `val` points to
    // `len` writable, exclusively borrowed bytes that the kernel reads and may overwrite
    // (never more than `len`), and `T: Pod` makes whatever it writes a valid `T`; `len`
    // is a valid socklen_t the kernel updates.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_IP,
            optname,
            (val as *mut T).cast::<libc::c_void>(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(len as usize)
}

type NameFn =
    unsafe extern "C" fn(libc::c_int, *mut libc::sockaddr, *mut libc::socklen_t) -> libc::c_int;

/// getpeername (`peer` true) or getsockname into a `sockaddr_storage`, whatever family the
/// kernel answers in: an AF_INET socket can answer a `sockaddr_in6` (toa_uoa's 64 case),
/// an AF_INET6 socket a `sockaddr_in` (the 46 case).
pub(crate) fn sockname(fd: BorrowedFd<'_>, peer: bool) -> io::Result<SocketAddr> {
    let f: NameFn = if peer {
        libc::getpeername
    } else {
        libc::getsockname
    };
    // SAFETY: sockaddr_storage is plain integers: all zeros is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let cap = size_of::<libc::sockaddr_storage>();
    let mut len = cap as libc::socklen_t;
    // SAFETY: `fd` is open for the borrow; `ss` is `len` writable bytes, aligned for every
    // sockaddr type; the kernel writes at most `len` bytes and updates `len`.
    let rc = unsafe {
        f(
            fd.as_raw_fd(),
            (&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr>(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let len = (len as usize).min(cap);
    match libc::c_int::from(ss.ss_family) {
        libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a sockaddr_in, `len` covers it,
            // and sockaddr_storage is larger than and aligned for sockaddr_in.
            let sin =
                unsafe { &*(&ss as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Ok(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                u16::from_be(sin.sin_port),
            )))
        }
        // 24 bytes: a sockaddr_in6 without sin6_scope_id (RFC 2133); the storage was
        // zeroed, so the scope reads as 0.
        libc::AF_INET6 if len >= 24 => {
            // SAFETY: the family says the storage holds a sockaddr_in6 (bytes past `len`
            // are zero), and sockaddr_storage is larger than and aligned for it.
            let sin6 =
                unsafe { &*(&ss as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Ok(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                u32::from_be(sin6.sin6_flowinfo),
                sin6.sin6_scope_id,
            )))
        }
        _ => Err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT)),
    }
}
