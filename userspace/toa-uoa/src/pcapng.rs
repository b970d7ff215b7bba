//! pcapng captures (what Wireshark, dumpcap and `tshark -w` write by default), read through
//! the `pcap-file` crate: its blocks, byte orders and sections are the crate's job. What is
//! left here is what the crate does not do: each packet's link type and timestamp from its
//! interface (the interface's `if_tsresol` option: the crate reads a packet's timestamp as
//! nanoseconds whatever the interface says, and the format's default is microseconds).

use crate::pcap::Record;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::{Block, PcapNgReader};
use std::io::Read;

/// One packet, with what its interface says about it.
pub struct Packet {
    pub record: Record,
    /// The interface's link type (pcap LINKTYPE_* number).
    pub linktype: u32,
    /// The timestamp's fraction is in nanoseconds (else microseconds).
    pub nanos: bool,
}

/// What [`Reader::next_packet`] found.
pub enum NextPacket {
    Packet(Packet),
    End,
    Damaged(String),
}

pub struct Reader<R: Read> {
    inner: PcapNgReader<R>,
}

impl<R: Read> Reader<R> {
    /// Opens a capture whose first bytes (the Section Header Block's type) are in `inner`.
    pub fn open(inner: R) -> Result<Self, String> {
        PcapNgReader::new(inner)
            .map(|inner| Reader { inner })
            .map_err(|e| format!("bad pcapng section header: {e}"))
    }

    /// The next packet (interface, statistics and other blocks are stepped over), the clean
    /// end of the file, or why it cannot be read further.
    pub fn next_packet(&mut self) -> NextPacket {
        loop {
            let block = match self.inner.next_block() {
                None => return NextPacket::End,
                Some(Err(e)) => return NextPacket::Damaged(format!("pcapng block: {e}")),
                Some(Ok(b)) => b,
            };
            let (interface_id, raw_ts, orig_len, data) = match block {
                Block::EnhancedPacket(p) => (
                    p.interface_id,
                    Some(p.timestamp.as_nanos()),
                    p.original_len,
                    p.data.into_owned(),
                ),
                // No timestamp, no interface number: the section's first interface.
                Block::SimplePacket(p) => (0, None, p.original_len, p.data.into_owned()),
                Block::Packet(p) => (
                    u32::from(p.interface_id),
                    Some(u128::from(p.timestamp)),
                    p.original_len,
                    p.data.into_owned(),
                ),
                _ => continue,
            };
            let Some(interface) = self.inner.interfaces().get(interface_id as usize) else {
                return NextPacket::Damaged(format!(
                    "a packet names interface {interface_id}, which the capture does not describe"
                ));
            };
            let (ts_sec, ts_frac, nanos) = timestamp(raw_ts.unwrap_or(0), interface);
            return NextPacket::Packet(Packet {
                record: Record {
                    ts_sec,
                    ts_frac,
                    orig_len,
                    data,
                },
                linktype: u32::from(interface.linktype),
                nanos,
            });
        }
    }
}

/// A timestamp in the interface's units (the crate hands it over as if nanoseconds) as
/// seconds, the fraction, and whether the fraction is in nanoseconds (else microseconds).
fn timestamp(units: u128, interface: &InterfaceDescriptionBlock<'_>) -> (u32, u32, bool) {
    let resol = interface
        .options
        .iter()
        .find_map(|o| match o {
            InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
            _ => None,
        })
        .unwrap_or(6);
    // Units per second: 10^r, or 2^r with the top bit set.
    let per_sec: u128 = if resol & 0x80 != 0 {
        1u128.checked_shl(u32::from(resol & 0x7f)).unwrap_or(0)
    } else {
        10u128.checked_pow(u32::from(resol)).unwrap_or(0)
    };
    if per_sec == 0 {
        return (0, 0, false);
    }
    let sec = u32::try_from(units / per_sec).unwrap_or(u32::MAX);
    let rem = units % per_sec;
    if per_sec == 1_000_000 {
        return (sec, rem as u32, false);
    }
    // Anything else is shown in nanoseconds (finer resolutions rounded down).
    let nanos = rem * 1_000_000_000 / per_sec;
    (sec, nanos as u32, true)
}
