// SPDX-License-Identifier: GPL-2.0

//! The UDP echo server of `udp_echo.rs` on tokio: `toa_uoa::lookup` takes any `AsFd`, so a
//! `tokio::net::UdpSocket` is looked up as it is (the look-up is one getsockopt, which does
//! not block: no `spawn_blocking` needed).
//!
//!     tokio_udp_echo BIND_ADDR PORT [--count N] [--ready FILE]
//!
//! One line per datagram, as udp_echo prints them:
//!
//!     client CIP CPORT service VIP VPORT
//!     error NAME: MESSAGE

use std::net::{IpAddr, SocketAddr};
use tokio::net::UdpSocket;

fn usage() -> ! {
    eprintln!("usage: tokio_udp_echo BIND_ADDR PORT [--count N] [--ready FILE]");
    std::process::exit(2)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
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

    let sock = UdpSocket::bind(SocketAddr::new(ip, port)).await?;
    let local = sock.local_addr()?;
    if let Some(f) = ready {
        std::fs::write(f, "")?;
    }
    let mut buf = vec![0u8; 65536];
    while count != Some(0) {
        let (n, peer) = sock.recv_from(&mut buf).await?;
        match toa_uoa::lookup(&sock, peer, local) {
            Ok((client, service)) => {
                let service =
                    service.map_or("-".to_string(), |s| format!("{} {}", s.ip(), s.port()));
                println!("client {} {} service {service}", client.ip(), client.port());
            }
            Err(toa_uoa::Error::NoRecord) => println!("error NoRecord: {peer} sent no option"),
            Err(e) => println!("error {e:?}: {e}"),
        }
        sock.send_to(&buf[..n], peer).await?;
        count = count.map(|c| c - 1);
    }
    Ok(())
}
