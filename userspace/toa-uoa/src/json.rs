//! Just enough JSON writing for the tool's output: one flat-ish object per line, built as a
//! string. Hand-written to keep the dependency list at the codec alone.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use toa_uoa_codec::Family;

/// An object being written: `{"a":1,"b":"x"}`. Keys are our own literals, values are escaped.
pub struct Object {
    buf: String,
    empty: bool,
}

impl Object {
    pub fn new() -> Self {
        Object {
            buf: String::from("{"),
            empty: true,
        }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.buf.push(',');
        }
        self.empty = false;
        push_str(&mut self.buf, key);
        self.buf.push(':');
    }

    pub fn num(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        let _ = write!(self.buf, "{value}");
        self
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        push_str(&mut self.buf, value);
        self
    }

    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key);
        self.buf.push_str(if value { "true" } else { "false" });
        self
    }

    pub fn null(&mut self, key: &str) -> &mut Self {
        self.key(key);
        self.buf.push_str("null");
        self
    }

    pub fn object(&mut self, key: &str, value: Object) -> &mut Self {
        self.key(key);
        self.buf.push_str(&value.finish());
        self
    }

    pub fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

/// Appends `s` as a JSON string literal.
fn push_str(buf: &mut String, s: &str) {
    buf.push('"');
    for ch in s.chars() {
        match ch {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\t' => buf.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(buf, "\\u{:04x}", u32::from(c));
            }
            c => buf.push(c),
        }
    }
    buf.push('"');
}

/// "ipv4" / "ipv6".
pub fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "ipv4",
        Family::V6 => "ipv6",
    }
}

/// Text form of an address held as in the codec (first 4 bytes for IPv4); IPv6 in the
/// RFC 5952 form std prints.
pub fn addr(f: Family, bytes: &[u8; 16]) -> String {
    match f {
        Family::V4 => Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).to_string(),
        Family::V6 => Ipv6Addr::from(*bytes).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_nests() {
        let mut inner = Object::new();
        inner.num("n", 7).null("z");
        let mut o = Object::new();
        o.str("s", "a\"b\\c\u{1}\n")
            .bool("t", true)
            .object("o", inner);
        assert_eq!(
            o.finish(),
            r#"{"s":"a\"b\\c\u0001\n","t":true,"o":{"n":7,"z":null}}"#
        );
        assert_eq!(Object::new().finish(), "{}");
    }

    #[test]
    fn addresses() {
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&[192, 0, 2, 1]);
        assert_eq!(addr(Family::V4, &a), "192.0.2.1");
        let mut b = [0u8; 16];
        b[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        b[15] = 1;
        assert_eq!(addr(Family::V6, &b), "2001:db8::1");
    }
}
