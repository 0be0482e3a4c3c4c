//! Unit tests of the egress programs' shape (the root tests load them and send packets).

use super::*;
use crate::jail::egress_rules::{port_be, word};
use crate::policy::reach::Cidr;
use crate::policy::reach::Proto;

fn layer() -> EgressRule {
    let target = |net: &str, proto| Target { net: Cidr::parse(net).expect("cidr"), port: 22, proto };
    EgressRule {
        targets: vec![target("192.0.2.32/28", Proto::Tcp), target("2001:db8::/64", Proto::Udp)],
        dns: vec![[10, 0, 0, 2]],
    }
}

fn jumps_land_inside(program: &[BpfInsn]) -> bool {
    program.iter().enumerate().all(|(i, insn)| {
        let is_jump = insn.code & 0x07 == 0x05 || insn.code & 0x07 == 0x06;
        let is_call_or_exit = matches!(insn.code, 0x85 | 0x95);
        !is_jump || is_call_or_exit || (insn.off >= 0 && i + 1 + (insn.off as usize) < program.len())
    })
}

#[test]
fn every_jump_lands_inside_the_program_and_it_ends_in_exit() {
    for rule in [layer(), EgressRule::default()] {
        for kind in Kind::ALL {
            let program = program(kind, &rule, 0);
            assert!(jumps_land_inside(&program), "{kind:?}: {program:?}");
            assert_eq!(program.last().map(|i| i.code), Some(0x95), "{kind:?}");
        }
    }
}

#[test]
fn local_allows_only_loopback_and_layer_adds_its_targets_and_dns() {
    let has_imm = |p: &[BpfInsn], imm: i32| p.iter().any(|i| i.imm == imm);
    let ssh = port_be(22);
    for kind in Kind::ALL {
        assert!(!has_imm(&program(kind, &EgressRule::default(), 0), ssh), "local has no port rule");
    }
    let v4 = program(Kind::SockV4, &layer(), 0);
    assert!(has_imm(&v4, ssh));
    assert!(has_imm(&v4, word(&[192, 0, 2, 32])), "the target's network");
    assert!(has_imm(&v4, word(&[255, 255, 255, 240])), "its mask");
    assert!(has_imm(&v4, i32::from_le_bytes([10, 0, 0, 2])), "the name server");
    let packets = program(Kind::Packets, &layer(), 0);
    assert!(has_imm(&packets, 58), "ICMPv6 to a v6 target");
    assert!(has_imm(&program(Kind::SockV6, &layer(), 0), word(&[0x20, 0x01, 0x0d, 0xb8])));
}

#[test]
fn the_map_is_named_where_the_program_counts() {
    let program = program(Kind::Packets, &EgressRule::default(), 7);
    let loads: Vec<_> = program.iter().filter(|i| i.code == 0x18 && i.regs >> 4 == 1).collect();
    assert!(!loads.is_empty() && loads.iter().all(|i| i.imm == 7));
}

#[test]
fn none_and_any_have_no_filter() {
    assert_eq!(rule_for(Network::None, &[]), None);
    assert_eq!(rule_for(Network::Any, &[]), None);
    assert_eq!(
        rule_for(Network::Local, &layer().targets),
        Some(EgressRule::default()),
        "local ignores targets"
    );
}

#[test]
fn a_map_value_reads_back_as_a_destination() {
    let mut value = [0u8; VALUE_SIZE];
    assert_eq!(Refused::from_value(&value), None);
    value[0] = 2;
    value[8] = 4;
    value[12..14].copy_from_slice(&80u16.to_be_bytes());
    value[16..20].copy_from_slice(&[198, 18, 0, 1]);
    let refused = Refused::from_value(&value).expect("counted");
    assert_eq!((refused.connections, refused.packets), (2, 0));
    assert_eq!(refused.destination, "198.18.0.1:80");
    value[8] = 6;
    value[16..32].copy_from_slice(&"2001:db8::1".parse::<std::net::Ipv6Addr>().expect("ip").octets());
    value[12..14].copy_from_slice(&[0, 0]);
    assert_eq!(Refused::from_value(&value).expect("counted").destination, "2001:db8::1");
}
