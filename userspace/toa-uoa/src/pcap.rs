//! A small reader of classic pcap files (what `tcpdump -w` writes) and the link-layer
//! unwrapping down to the IP packet.
//!
//! Both byte orders and both timestamp resolutions (microsecond magic a1b2c3d4, nanosecond magic
//! a1b23c4d) are read. pcapng is read by `pcapng.rs`, through the `pcap-file` crate; the
//! link-layer unwrapping here serves both.

use std::io::Read;

/// Link types this reader unwraps (pcap LINKTYPE_* numbers).
pub const LINKTYPE_ETHERNET: u32 = 1;
pub const LINKTYPE_RAW: u32 = 101;
pub const LINKTYPE_LINUX_SLL: u32 = 113;
pub const LINKTYPE_IPV4: u32 = 228;
pub const LINKTYPE_IPV6: u32 = 229;
pub const LINKTYPE_LINUX_SLL2: u32 = 276;

/// The largest record accepted: libpcap's own maximum snapshot length, or the file's snaplen if
/// larger. A bigger length field means a corrupt file, and reading on would only print garbage.
const MAX_RECORD: u32 = 262_144;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// 802.1Q, 802.1ad and the old QinQ tag: each adds 4 bytes before the real EtherType.
const ETHERTYPE_VLAN: [u16; 3] = [0x8100, 0x88a8, 0x9100];
/// At most this many VLAN tags are stepped over (QinQ is two; more is not a real frame).
const MAX_VLAN_TAGS: usize = 4;

/// Is this the start of a classic pcap file (either byte order, either resolution)?
pub fn is_pcap_magic(m: [u8; 4]) -> bool {
    let le = u32::from_le_bytes(m);
    matches!(le, 0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1)
}

/// Is this the start of a pcapng file (Section Header Block type, same in both byte orders)?
pub fn is_pcapng_magic(m: [u8; 4]) -> bool {
    m == [0x0a, 0x0d, 0x0d, 0x0a]
}

/// One captured record.
pub struct Record {
    pub ts_sec: u32,
    /// Microseconds or nanoseconds, see [`Reader::nanos`].
    pub ts_frac: u32,
    /// Length on the wire; larger than `data.len()` when the capture's snaplen cut the packet.
    pub orig_len: u32,
    pub data: Vec<u8>,
}

/// What [`Reader::next_record`] found.
pub enum Next {
    Record(Record),
    End,
    /// The file cannot be read past this point (cut short, or a corrupt record header).
    Damaged(String),
}

pub struct Reader<R> {
    inner: R,
    big_endian: bool,
    /// Timestamps are in nanoseconds (else microseconds).
    pub nanos: bool,
    pub linktype: u32,
    snaplen: u32,
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
pub fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl<R: Read> Reader<R> {
    /// Reads the rest of the 24-byte file header after the 4 magic bytes already read.
    pub fn open(magic: [u8; 4], mut inner: R) -> Result<Self, String> {
        let le = u32::from_le_bytes(magic);
        let big_endian = matches!(le, 0xd4c3_b2a1 | 0x4d3c_b2a1);
        let nanos = matches!(le, 0xa1b2_3c4d | 0x4d3c_b2a1);
        let mut rest = [0u8; 20];
        let n =
            read_full(&mut inner, &mut rest).map_err(|e| format!("reading pcap header: {e}"))?;
        if n < rest.len() {
            return Err(format!(
                "bad pcap header: the file ends after {} of its 24 header bytes",
                n + 4
            ));
        }
        let word = |at: usize| {
            let b = [rest[at], rest[at + 1], rest[at + 2], rest[at + 3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let major = if big_endian {
            u16::from_be_bytes([rest[0], rest[1]])
        } else {
            u16::from_le_bytes([rest[0], rest[1]])
        };
        if major != 2 {
            return Err(format!("bad pcap header: version {major}, expected 2"));
        }
        let snaplen = word(12);
        // The low 16 bits are the link type; the upper bits may carry FCS information, which
        // does not matter here (an IP packet is cut to its own length).
        let linktype = word(16) & 0xffff;
        match linktype {
            LINKTYPE_ETHERNET | LINKTYPE_RAW | LINKTYPE_LINUX_SLL | LINKTYPE_IPV4
            | LINKTYPE_IPV6 | LINKTYPE_LINUX_SLL2 => {}
            other => {
                return Err(format!(
                    "unsupported pcap link type {other} (supported: 1 Ethernet, 113 Linux \
                     cooked, 276 Linux cooked v2, 101/228/229 raw IP); capture with \
                     'tcpdump -i <interface>' or '-i any'"
                ))
            }
        }
        Ok(Reader {
            inner,
            big_endian,
            nanos,
            linktype,
            snaplen,
        })
    }

    fn word(&self, b: &[u8]) -> u32 {
        let b = [b[0], b[1], b[2], b[3]];
        if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }

    /// The next record, the clean end of the file, or why the file cannot be read further.
    pub fn next_record(&mut self) -> Next {
        let mut hdr = [0u8; 16];
        let n = match read_full(&mut self.inner, &mut hdr) {
            Ok(n) => n,
            Err(e) => return Next::Damaged(format!("read error: {e}")),
        };
        if n == 0 {
            return Next::End;
        }
        if n < hdr.len() {
            return Next::Damaged(format!(
                "file ends inside a record header ({n} of 16 bytes)"
            ));
        }
        let ts_sec = self.word(&hdr[0..4]);
        let ts_frac = self.word(&hdr[4..8]);
        let incl_len = self.word(&hdr[8..12]);
        let orig_len = self.word(&hdr[12..16]);
        if incl_len > MAX_RECORD.max(self.snaplen) {
            return Next::Damaged(format!(
                "corrupt record header (captured length {incl_len})"
            ));
        }
        let mut data = vec![0u8; incl_len as usize];
        match read_full(&mut self.inner, &mut data) {
            Ok(k) if k == data.len() => {}
            Ok(k) => {
                return Next::Damaged(format!(
                    "file ends inside a record ({k} of {incl_len} bytes)"
                ))
            }
            Err(e) => return Next::Damaged(format!("read error: {e}")),
        }
        Next::Record(Record {
            ts_sec,
            ts_frac,
            orig_len,
            data,
        })
    }
}

/// Why a frame holds no IP packet.
#[derive(Debug, PartialEq, Eq)]
pub enum Skip {
    /// The frame's protocol is not IPv4 or IPv6 (ARP, LLDP, ...).
    NotIp(u16),
    /// The frame is shorter than its link-layer header.
    Short,
    /// The frame's link type is not one this reader unwraps (a pcapng capture's interface
    /// may have any; a classic pcap file's is checked when it is opened).
    LinkType(u32),
}

/// The IP packet inside a frame of `linktype`.
pub fn ip_packet(linktype: u32, frame: &[u8]) -> Result<&[u8], Skip> {
    let be16 = |at: usize| -> Result<u16, Skip> {
        frame
            .get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or(Skip::Short)
    };
    let (ethertype, start) = match linktype {
        LINKTYPE_RAW | LINKTYPE_IPV4 | LINKTYPE_IPV6 => return Ok(frame),
        LINKTYPE_ETHERNET => {
            let mut at = 12;
            let mut ethertype = be16(at)?;
            let mut tags = 0;
            while ETHERTYPE_VLAN.contains(&ethertype) && tags < MAX_VLAN_TAGS {
                at += 4;
                tags += 1;
                ethertype = be16(at)?;
            }
            (ethertype, at + 2)
        }
        // Linux cooked v1: packet type, ARPHRD, address length, 8 address bytes, protocol.
        LINKTYPE_LINUX_SLL => (be16(14)?, 16),
        // Linux cooked v2: protocol first, then reserved, ifindex, ARPHRD, type, address.
        LINKTYPE_LINUX_SLL2 => (be16(0)?, 20),
        other => return Err(Skip::LinkType(other)),
    };
    if ethertype != ETHERTYPE_IPV4 && ethertype != ETHERTYPE_IPV6 {
        return Err(Skip::NotIp(ethertype));
    }
    frame.get(start..).ok_or(Skip::Short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics() {
        for m in [
            [0xd4, 0xc3, 0xb2, 0xa1],
            [0xa1, 0xb2, 0xc3, 0xd4],
            [0x4d, 0x3c, 0xb2, 0xa1],
            [0xa1, 0xb2, 0x3c, 0x4d],
        ] {
            assert!(is_pcap_magic(m));
        }
        assert!(!is_pcap_magic(*b"4500"));
        assert!(is_pcapng_magic([0x0a, 0x0d, 0x0d, 0x0a]));
    }

    #[test]
    fn unwraps_links() {
        let ip = [0x45u8, 1, 2, 3];
        let mut eth = vec![0u8; 12];
        eth.extend([0x81, 0x00, 0, 5, 0x88, 0xa8, 0, 6, 0x08, 0x00]);
        eth.extend(ip);
        assert_eq!(ip_packet(LINKTYPE_ETHERNET, &eth), Ok(&ip[..]));
        let mut arp = vec![0u8; 12];
        arp.extend([0x08, 0x06, 1, 2]);
        assert_eq!(ip_packet(LINKTYPE_ETHERNET, &arp), Err(Skip::NotIp(0x0806)));
        assert_eq!(ip_packet(LINKTYPE_ETHERNET, &[0; 13]), Err(Skip::Short));
        let mut sll = vec![0u8; 14];
        sll.extend([0x86, 0xdd]);
        sll.extend(ip);
        assert_eq!(ip_packet(LINKTYPE_LINUX_SLL, &sll), Ok(&ip[..]));
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend([0u8; 18]);
        sll2.extend(ip);
        assert_eq!(ip_packet(LINKTYPE_LINUX_SLL2, &sll2), Ok(&ip[..]));
        assert_eq!(ip_packet(LINKTYPE_RAW, &ip), Ok(&ip[..]));
    }
}
