// SPDX-License-Identifier: GPL-2.0

//! A UDP echo server behind a FullNAT balancer: for each datagram, asks toa_uoa who really
//! sent it, prints that, and echoes the datagram back (to the balancer, which forwards it).
//!
//!     udp_echo BIND_ADDR PORT [--count N] [--ready FILE]
//!
//! One line per datagram:
//!
//!     client CIP CPORT service VIP VPORT    (v1)
//!     client CIP CPORT service -            (v0 fallback: no service address)
//!     error NAME ERRNO: MESSAGE             (e.g. error NoRecord ENOENT: ...)

use std::net::{IpAddr, SocketAddr, UdpSocket};

fn usage() -> ! {
    eprintln!("usage: udp_echo BIND_ADDR PORT [--count N] [--ready FILE]");
    std::process::exit(2)
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        usage();
    }
    let ip: IpAddr = args[0].parse().unwrap_or_else(|_| usage());
    let port: u16 = args[1].parse().unwrap_or_else(|_| usage());
    let (mut count, mut ready) = (None, None);
    let mut rest = args[2..].iter();
    while let Some(a) = rest.next() {
        match (a.as_str(), rest.next()) {
            ("--count", Some(n)) => count = Some(n.parse::<u64>().unwrap_or_else(|_| usage())),
            ("--ready", Some(f)) => ready = Some(f.clone()),
            _ => usage(),
        }
    }

    let sock = UdpSocket::bind(SocketAddr::new(ip, port))?;
    let local = sock.local_addr()?;
    if let Some(f) = ready {
        std::fs::write(f, "")?;
    }
    let mut buf = vec![0u8; 65536];
    while count != Some(0) {
        let (n, peer) = sock.recv_from(&mut buf)?;
        // The tuple: where the datagram came from (the balancer), where it went (the
        // address this socket is bound to: unspecified means any local address).
        match toa_uoa::lookup(&sock, peer, local) {
            Ok((client, service)) => {
                let service =
                    service.map_or("-".to_string(), |s| format!("{} {}", s.ip(), s.port()));
                println!("client {} {} service {service}", client.ip(), client.port());
            }
            Err(e) => {
                let name = match &e {
                    toa_uoa::Error::NoRecord => "NoRecord ENOENT",
                    toa_uoa::Error::ModuleNotLoaded => "ModuleNotLoaded ENOPROTOOPT",
                    toa_uoa::Error::Invalid => "Invalid EINVAL",
                    toa_uoa::Error::FamilyNotSupported => "FamilyNotSupported EAFNOSUPPORT",
                    toa_uoa::Error::Io(_) => "Io -",
                    // The crate's Error is non_exhaustive: a kind it adds later.
                    _ => "Other -",
                };
                println!("error {name}: {e}");
            }
        }
        sock.send_to(&buf[..n], peer)?;
        count = count.map(|c| c - 1);
    }
    Ok(())
}
