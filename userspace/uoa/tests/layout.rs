// SPDX-License-Identifier: GPL-2.0

//! The Rust structures against the C header: compiles a probe with the system C compiler
//! (`$CC`, else `cc`) against include/uapi/linux/toa_uoa.h, runs it, and compares every
//! size, field offset and constant it prints with this crate's. The header and the crate
//! cannot drift apart without this test failing.

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;

use toa_uoa::abi::*;

const PROBE: &str = r#"
#include <stdio.h>
#include <stddef.h>
#include <linux/toa_uoa.h>
#define S(t) printf("sizeof %s %zu\n", #t, sizeof(t))
#define O(t, f) printf("offsetof %s.%s %zu\n", #t, #f, offsetof(t, f))
#define C(c) printf("const %s %ld\n", #c, (long)(c))
int main(void)
{
	S(struct uoa_param_map); O(struct uoa_param_map, af); O(struct uoa_param_map, saddr);
	O(struct uoa_param_map, daddr); O(struct uoa_param_map, sport);
	O(struct uoa_param_map, dport); O(struct uoa_param_map, real_af);
	O(struct uoa_param_map, real_saddr); O(struct uoa_param_map, real_sport);
	S(struct uoa_param_map_no_real_af); O(struct uoa_param_map_no_real_af, af);
	O(struct uoa_param_map_no_real_af, saddr); O(struct uoa_param_map_no_real_af, daddr);
	O(struct uoa_param_map_no_real_af, sport); O(struct uoa_param_map_no_real_af, dport);
	O(struct uoa_param_map_no_real_af, real_saddr);
	O(struct uoa_param_map_no_real_af, real_sport);
	S(struct uoa_param_map_ipv4); O(struct uoa_param_map_ipv4, saddr);
	O(struct uoa_param_map_ipv4, daddr); O(struct uoa_param_map_ipv4, sport);
	O(struct uoa_param_map_ipv4, dport); O(struct uoa_param_map_ipv4, real_saddr);
	O(struct uoa_param_map_ipv4, real_sport);
	S(struct four_tuple); S(union uoa_sockopt_param); O(struct four_tuple, type);
	O(struct four_tuple, sport); O(struct four_tuple, dport); O(struct four_tuple, addrs);
	O(union two_addr, ipv4.daddr); O(union two_addr, ipv6.daddr);
	S(union inet_addr);
	C(UOA_SO_GET_LOOKUP); C(UOA_SO_GET_LOOKUP1); C(AF_INET); C(AF_INET6);
	return 0;
}
"#;

fn c_layout() -> BTreeMap<String, usize> {
    let top = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let src = dir.join("toa_uoa_layout_probe.c");
    let bin = dir.join("toa_uoa_layout_probe");
    std::fs::write(&src, PROBE).unwrap();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .arg("-Wall")
        .arg("-Werror")
        .arg("-I")
        .arg(top.join("include/uapi"))
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc:?} (set CC): {e}"));
    assert!(
        out.status.success(),
        "the C probe does not compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&bin).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            // "what NAME VALUE", NAME may hold spaces ("struct x.f")
            let (_, rest) = l.split_once(' ').unwrap();
            let (k, v) = rest.rsplit_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

#[test]
fn rust_structures_match_the_c_header() {
    let rust: Vec<(&str, usize)> = vec![
        ("struct uoa_param_map", size_of::<UoaParamMap>()),
        ("struct uoa_param_map.af", offset_of!(UoaParamMap, af)),
        ("struct uoa_param_map.saddr", offset_of!(UoaParamMap, saddr)),
        ("struct uoa_param_map.daddr", offset_of!(UoaParamMap, daddr)),
        ("struct uoa_param_map.sport", offset_of!(UoaParamMap, sport)),
        ("struct uoa_param_map.dport", offset_of!(UoaParamMap, dport)),
        (
            "struct uoa_param_map.real_af",
            offset_of!(UoaParamMap, real_af),
        ),
        (
            "struct uoa_param_map.real_saddr",
            offset_of!(UoaParamMap, real_saddr),
        ),
        (
            "struct uoa_param_map.real_sport",
            offset_of!(UoaParamMap, real_sport),
        ),
        (
            "struct uoa_param_map_no_real_af",
            size_of::<UoaParamMapNoRealAf>(),
        ),
        (
            "struct uoa_param_map_no_real_af.af",
            offset_of!(UoaParamMapNoRealAf, af),
        ),
        (
            "struct uoa_param_map_no_real_af.saddr",
            offset_of!(UoaParamMapNoRealAf, saddr),
        ),
        (
            "struct uoa_param_map_no_real_af.daddr",
            offset_of!(UoaParamMapNoRealAf, daddr),
        ),
        (
            "struct uoa_param_map_no_real_af.sport",
            offset_of!(UoaParamMapNoRealAf, sport),
        ),
        (
            "struct uoa_param_map_no_real_af.dport",
            offset_of!(UoaParamMapNoRealAf, dport),
        ),
        (
            "struct uoa_param_map_no_real_af.real_saddr",
            offset_of!(UoaParamMapNoRealAf, real_saddr),
        ),
        (
            "struct uoa_param_map_no_real_af.real_sport",
            offset_of!(UoaParamMapNoRealAf, real_sport),
        ),
        ("struct uoa_param_map_ipv4", size_of::<UoaParamMapIpv4>()),
        (
            "struct uoa_param_map_ipv4.saddr",
            offset_of!(UoaParamMapIpv4, saddr),
        ),
        (
            "struct uoa_param_map_ipv4.daddr",
            offset_of!(UoaParamMapIpv4, daddr),
        ),
        (
            "struct uoa_param_map_ipv4.sport",
            offset_of!(UoaParamMapIpv4, sport),
        ),
        (
            "struct uoa_param_map_ipv4.dport",
            offset_of!(UoaParamMapIpv4, dport),
        ),
        (
            "struct uoa_param_map_ipv4.real_saddr",
            offset_of!(UoaParamMapIpv4, real_saddr),
        ),
        (
            "struct uoa_param_map_ipv4.real_sport",
            offset_of!(UoaParamMapIpv4, real_sport),
        ),
        ("struct four_tuple", size_of::<FourTuple>()),
        ("union uoa_sockopt_param", size_of::<FourTuple>()),
        ("struct four_tuple.type", offset_of!(FourTuple, ty)),
        ("struct four_tuple.sport", offset_of!(FourTuple, sport)),
        ("struct four_tuple.dport", offset_of!(FourTuple, dport)),
        ("struct four_tuple.addrs", offset_of!(FourTuple, addrs)),
        ("union two_addr.ipv4.daddr", TWO_ADDR_V4_DADDR),
        ("union two_addr.ipv6.daddr", TWO_ADDR_V6_DADDR),
        ("union inet_addr", 16),
        ("UOA_SO_GET_LOOKUP", UOA_SO_GET_LOOKUP as usize),
        ("UOA_SO_GET_LOOKUP1", UOA_SO_GET_LOOKUP1 as usize),
        ("AF_INET", usize::from(AF_INET)),
        ("AF_INET6", usize::from(AF_INET6)),
    ];
    let c = c_layout();
    assert_eq!(
        c.len(),
        rust.len(),
        "the probe and the list disagree on what they check"
    );
    for (name, value) in rust {
        assert_eq!(
            c.get(name),
            Some(&value),
            "{name}: C says {:?}, Rust {value}",
            c.get(name)
        );
    }
    // The byte encodings agree with the layouts (to_bytes is what the tests elsewhere use).
    assert_eq!(UoaParamMap::LEN, c["struct uoa_param_map"]);
    assert_eq!(
        UoaParamMapNoRealAf::LEN,
        c["struct uoa_param_map_no_real_af"]
    );
    assert_eq!(UoaParamMapIpv4::LEN, c["struct uoa_param_map_ipv4"]);
    assert_eq!(FourTuple::LEN, c["union uoa_sockopt_param"]);
}
