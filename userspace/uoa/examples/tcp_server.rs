// SPDX-License-Identifier: GPL-2.0

//! A TCP server behind a FullNAT balancer: accepts connections, reads the first data, and
//! prints the client and the service as the kernel gives them with toa_uoa loaded (nothing
//! to look up for TCP: the peer address is the client's, the local address the VIP's, in
//! the carried family, even an IPv6 client on an IPv4 socket).
//!
//!     tcp_server BIND_ADDR PORT [--count N] [--ready FILE]
//!
//! Per connection:
//!
//!     accept IP PORT     the address accept() gave
//!     peer IP PORT       toa_uoa::peer_addr (getpeername) after the first data
//!     local IP PORT      toa_uoa::local_addr (getsockname)

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};

fn usage() -> ! {
    eprintln!("usage: tcp_server BIND_ADDR PORT [--count N] [--ready FILE]");
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

    let listener = TcpListener::bind(SocketAddr::new(ip, port))?;
    if let Some(f) = ready {
        std::fs::write(f, "")?;
    }
    while count != Some(0) {
        let (mut conn, from) = listener.accept()?;
        println!("accept {} {}", from.ip(), from.port());
        // A balancer may put the option on the first data packet only: ask after it.
        let mut buf = [0u8; 4096];
        let _ = conn.read(&mut buf)?;
        for (what, addr) in [
            ("peer", toa_uoa::peer_addr(&conn)),
            ("local", toa_uoa::local_addr(&conn)),
        ] {
            match addr {
                Ok(a) => println!("{what} {} {}", a.ip(), a.port()),
                Err(e) => println!("{what} error: {e}"),
            }
        }
        std::io::stdout().flush()?;
        drop(conn);
        count = count.map(|c| c - 1);
    }
    Ok(())
}
