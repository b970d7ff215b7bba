// SPDX-License-Identifier: GPL-2.0

//! For applications on a real server running the toa_uoa kernel module, behind a FullNAT
//! balancer that carries the client's address in the type-31 IP option.
//!
//! - UDP: [`lookup`] asks the module who sent a datagram, from the datagram's tuple
//!   (v1, falling back to v0 where v1 is refused, e.g. under DPVS's own uoa.ko):
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sock = std::net::UdpSocket::bind("0.0.0.0:53")?;
//! let mut buf = [0u8; 2048];
//! let (n, peer) = sock.recv_from(&mut buf)?;
//! match toa_uoa::lookup(&sock, peer, sock.local_addr()?) {
//!     Ok((client, service)) => println!("{n} bytes from {client} (via {service:?})"),
//!     Err(toa_uoa::Error::NoRecord) => println!("{n} bytes from {peer} (no option)"),
//!     Err(e) => return Err(e.into()),
//! }
//! # Ok(())
//! # }
//! ```
//!
//! - TCP: nothing to do; `accept()`/`getpeername()` already answer the client and
//!   `getsockname()` the service. Their family is the carried one, so an AF_INET socket can
//!   answer an IPv6 address: [`peer_addr`] and [`local_addr`] decode whatever comes back
//!   (std's `TcpStream::peer_addr` does as well).
//!
//! The structures are those of `include/uapi/linux/toa_uoa.h` (see [`abi`]); a test
//! compiles that header and checks every size and offset against these.

#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

pub mod abi;
mod ffi;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;

use abi::{FourTuple, UoaParamMap, UoaParamMapIpv4, UoaParamMapNoRealAf};

/// Why a look-up failed. More kinds may come (the module may learn new answers): match with
/// a `_` arm, or use [`Error::raw_os_error`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// ENOENT: the module has no record for this tuple (the datagram carried no option,
    /// or its record expired).
    NoRecord,
    /// ENOPROTOOPT: nothing serves the look-up: the module is not loaded.
    ModuleNotLoaded,
    /// EINVAL: the module refused the input (or the peer and local families differ).
    Invalid,
    /// EAFNOSUPPORT: the answer cannot be said in the v0 layout asked for (use v1 or the
    /// 58-byte layout), or an address family this crate does not know.
    FamilyNotSupported,
    /// Any other failure.
    Io(io::Error),
}

impl Error {
    /// The errno this error stands for, if any.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::NoRecord => Some(libc::ENOENT),
            Error::ModuleNotLoaded => Some(libc::ENOPROTOOPT),
            Error::Invalid => Some(libc::EINVAL),
            Error::FamilyNotSupported => Some(libc::EAFNOSUPPORT),
            Error::Io(e) => e.raw_os_error(),
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        match e.raw_os_error() {
            Some(libc::ENOENT) => Error::NoRecord,
            Some(libc::ENOPROTOOPT) => Error::ModuleNotLoaded,
            Some(libc::EINVAL) => Error::Invalid,
            Some(libc::EAFNOSUPPORT) => Error::FamilyNotSupported,
            _ => Error::Io(e),
        }
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            Error::Io(e) => e,
            other => match other.raw_os_error() {
                Some(n) => io::Error::from_raw_os_error(n),
                None => io::Error::other(other.to_string()),
            },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoRecord => f.write_str("no toa_uoa record for this tuple (ENOENT)"),
            Error::ModuleNotLoaded => f.write_str("toa_uoa module not loaded (ENOPROTOOPT)"),
            Error::Invalid => f.write_str("look-up refused as invalid (EINVAL)"),
            Error::FamilyNotSupported => {
                f.write_str("address family not supported by this look-up (EAFNOSUPPORT)")
            }
            Error::Io(e) => write!(f, "toa_uoa look-up: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Which v0 structure [`lookup_v0_layout`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum V0Layout {
    /// `struct uoa_param_map`, 58 bytes (DPVS): answers every case.
    WithRealAf,
    /// `struct uoa_param_map_no_real_af`, 56 bytes.
    NoRealAf,
    /// `struct uoa_param_map_ipv4`, 18 bytes, IPv4 only.
    Ipv4Only,
}

/// The client and the service of a datagram received on `sock` from `peer` (the address
/// `recv_from` gave) to `local` (this server's address and port: `sock.local_addr()`; an
/// unspecified address means any local address). Asks v1 (client and service), and where
/// v1 is refused (ENOPROTOOPT/EOPNOTSUPP: DPVS's uoa.ko serves v0 only) the 58-byte v0,
/// which gives the client only: the service is then `None`.
pub fn lookup(
    sock: &impl AsFd,
    peer: SocketAddr,
    local: SocketAddr,
) -> Result<(SocketAddr, Option<SocketAddr>), Error> {
    let mut q = FourTuple::query(peer, local)?;
    match ffi::getsockopt_ip(sock.as_fd(), abi::UOA_SO_GET_LOOKUP1, &mut q) {
        Ok(_) => {
            let (client, service) = q.answer()?;
            Ok((client, Some(service)))
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOPROTOOPT | libc::EOPNOTSUPP)) => {
            Ok((lookup_v0(sock, peer, local)?, None))
        }
        Err(e) => Err(e.into()),
    }
}

/// The v1 look-up: (client CIP:CPORT, service VIP:VPORT).
pub fn lookup_v1(
    sock: &impl AsFd,
    peer: SocketAddr,
    local: SocketAddr,
) -> Result<(SocketAddr, SocketAddr), Error> {
    let mut q = FourTuple::query(peer, local)?;
    ffi::getsockopt_ip(sock.as_fd(), abi::UOA_SO_GET_LOOKUP1, &mut q)?;
    q.answer()
}

/// The v0 look-up with DPVS's 58-byte `struct uoa_param_map`: the client CIP:CPORT.
pub fn lookup_v0(
    sock: &impl AsFd,
    peer: SocketAddr,
    local: SocketAddr,
) -> Result<SocketAddr, Error> {
    lookup_v0_layout(sock, peer, local, V0Layout::WithRealAf)
}

/// The v0 look-up with the structure of one's choice: the client CIP:CPORT.
pub fn lookup_v0_layout(
    sock: &impl AsFd,
    peer: SocketAddr,
    local: SocketAddr,
    layout: V0Layout,
) -> Result<SocketAddr, Error> {
    let fd = sock.as_fd();
    let name = abi::UOA_SO_GET_LOOKUP;
    match layout {
        V0Layout::WithRealAf => {
            let mut q = UoaParamMap::query(peer, local)?;
            ffi::getsockopt_ip(fd, name, &mut q)?;
            q.answer()
        }
        V0Layout::NoRealAf => {
            let mut q = UoaParamMapNoRealAf::query(peer, local)?;
            ffi::getsockopt_ip(fd, name, &mut q)?;
            q.answer()
        }
        V0Layout::Ipv4Only => {
            let mut q = UoaParamMapIpv4::query(peer, local)?;
            ffi::getsockopt_ip(fd, name, &mut q)?;
            Ok(q.answer())
        }
    }
}

/// getpeername() in a buffer large enough for any family: on a connection that carried the
/// option, the client CIP:CPORT, in the client's family (an IPv6 client on an AF_INET
/// socket gives a `SocketAddr::V6`).
pub fn peer_addr(sock: &impl AsFd) -> Result<SocketAddr, Error> {
    Ok(ffi::sockname(sock.as_fd(), true)?)
}

/// getsockname() likewise: on a connection that carried the option, the service VIP:VPORT.
pub fn local_addr(sock: &impl AsFd) -> Result<SocketAddr, Error> {
    Ok(ffi::sockname(sock.as_fd(), false)?)
}

#[cfg(test)]
mod tests;
