//! Root tests of the jail's network modes with the real kernel: what a jail of each mode
//! reaches (listeners on the host, other hosts, abstract sockets, raw and packet sockets) and
//! the egress cgroups that hold the filters, one process per test (cargo nextest).

use std::collections::BTreeMap;
use std::fs;
use std::net::{TcpListener, UdpSocket};
use std::process::Command;
use std::time::Duration;

use cage::jail::*;
use cage::policy::Profile;
use jailed::*;
use support::alone;

mod jailed;
mod support;

fn listeners() -> (TcpListener, UdpSocket, String, String) {
    let tcp = TcpListener::bind("127.0.0.1:0").expect("tcp");
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    udp.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
    tcp.set_nonblocking(true).expect("nonblocking");
    let t = format!("connect:{}", tcp.local_addr().expect("addr"));
    let u = format!("udp:{}", udp.local_addr().expect("addr"));
    (tcp, udp, t, u)
}

fn network_case(network: &str) -> (String, String, bool, bool) {
    let p = inline_profile(&format!("network = \"{network}\"\n[layer.cps]\n"));
    let (tcp, udp, t, u) = listeners();
    let (json, _) = run(&plan_for(&p, &[&t, &u], operator(), &[]));
    let accepted = tcp.accept().is_ok();
    let mut buf = [0u8; 16];
    let received = udp.recv(&mut buf).is_ok();
    (field(&json, &t).to_string(), field(&json, &u).to_string(), accepted, received)
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn network_none_reaches_no_listener_on_the_host() {
    alone(|| {
        let (tcp, udp, accepted, received) = network_case("none");
        assert_ne!(tcp, "ok");
        assert_ne!(udp, "ok");
        assert!(!accepted && !received, "nothing arrived");
    })
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_jail_sharing_the_hosts_network_reaches_no_abstract_unix_socket_of_the_host() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};
    alone(|| {
        assert_eq!(
            enforced_landlock_abi(),
            6,
            "this kernel scopes abstract sockets and signals (Landlock ABI 6)"
        );
        // A host daemon's abstract socket, in the network namespace `local` and `any` jails share.
        let name = format!("cage-test-abstract-{}", std::process::id());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).expect("address");
        let _daemon = UnixListener::bind_addr(&address).expect("listen");
        let spec = format!("abstract:{name}");
        for network in ["local", "any"] {
            let p = inline_profile(&format!("network = \"{network}\"\n[layer.cps]\n"));
            let (json, _) = run(&plan_for(&p, &[&spec], operator(), &[]));
            assert_eq!(
                field(&json, &spec),
                "EPERM",
                "{network}: the jail reached the host's abstract socket"
            );
            let root = plan_for(&p, &[&spec], Identity { uid: 0, gid: 0, ..operator() }, &[]);
            assert_eq!(field(&run(&root).0, &spec), "EPERM", "{network}: a root jail reached it");
        }
        UnixStream::connect_addr(&address).expect("outside any jail the socket answers");
    })
}

/// The jail's PID namespace already hides every outside process, so no jailed program can
/// name one; this checks the second wall beneath it: the Landlock domain a jail enforces keeps
/// even root from signalling a process outside it.
#[test]
#[ignore = "root test: `make test` runs it as root"]
fn network_local_and_any_reach_the_loopback_listener() {
    alone(|| {
        for network in ["local", "any"] {
            let (tcp, udp, accepted, received) = network_case(network);
            assert_eq!((tcp.as_str(), udp.as_str()), ("ok", "ok"), "{network}");
            assert!(accepted && received, "{network}: both arrived");
        }
    })
}

/// A second address of this machine (on `lo`, outside 127/8), standing for "another host":
/// nothing sent to it leaves the machine, with or without the filter.
const OTHER_HOST: &str = "198.18.0.1";

fn other_host() {
    let has = |out: &[u8]| String::from_utf8_lossy(out).contains(OTHER_HOST);
    let shown = Command::new("ip").args(["addr", "show", "dev", "lo"]).output().expect("ip (iproute2)");
    if !has(&shown.stdout) {
        let _ = Command::new("ip").args(["addr", "add", &format!("{OTHER_HOST}/32"), "dev", "lo"]).status();
    }
    let shown = Command::new("ip").args(["addr", "show", "dev", "lo"]).output().expect("ip");
    assert!(has(&shown.stdout), "{OTHER_HOST} is an address of this machine");
}

/// Probes TCP and UDP to a listener on `host` under `network`; returns the probe's verdicts
/// and whether anything arrived.
fn reach(network: &str, host: &str) -> (String, String, bool) {
    let p = inline_profile(&format!("network = \"{network}\"\n[layer.cps]\n"));
    let tcp = TcpListener::bind((host, 0)).expect("tcp");
    let udp = UdpSocket::bind((host, 0)).expect("udp");
    tcp.set_nonblocking(true).expect("nonblocking");
    udp.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
    let t = format!("connect:{}", tcp.local_addr().expect("addr"));
    let u = format!("udp:{}", udp.local_addr().expect("addr"));
    let (json, _) = run(&plan_for(&p, &[&t, &u], operator(), &[]));
    let arrived = tcp.accept().is_ok() || udp.recv(&mut [0u8; 16]).is_ok();
    (field(&json, &t).to_string(), field(&json, &u).to_string(), arrived)
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn local_refuses_every_other_host_and_any_reaches_it() {
    alone(|| {
        other_host();
        let (tcp, udp, arrived) = reach("local", OTHER_HOST);
        assert_eq!((tcp.as_str(), udp.as_str()), ("EPERM", "EPERM"), "local: no connection leaves the host");
        assert!(!arrived);
        let (tcp, udp, arrived) = reach("any", OTHER_HOST);
        assert_eq!((tcp.as_str(), udp.as_str()), ("ok", "ok"));
        assert!(arrived);
    })
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn layer_reaches_only_the_ports_of_the_hosts_it_lists() {
    alone(|| {
        other_host();
        let (tcp, udp, arrived) = reach("layer", OTHER_HOST);
        assert_eq!((tcp.as_str(), udp.as_str()), ("EPERM", "EPERM"), "layer: a host it does not list");
        assert!(!arrived);
        let (tcp, _, _) = reach("layer", "127.0.0.1");
        assert_eq!(tcp, "ok", "layer: loopback");
        let ssh = format!("connect:{OTHER_HOST}:22");
        let p = inline_profile("network = \"layer\"\n[layer.cps]\n");
        let (json, _) = run(&plan_for(&p, &[&ssh], operator(), &[]));
        assert_eq!(field(&json, &ssh), "EPERM", "not TCP port 22 to any address: only to the hosts listed");
        let listed = with_targets(p, &format!("{OTHER_HOST}/32"), 22);
        let other_port = format!("connect:{OTHER_HOST}:2222");
        let (json, _) = run(&plan_for(&listed, &[&ssh, &other_port], operator(), &[]));
        assert_ne!(field(&json, &ssh), "EPERM", "the listed port passes (refused only if no sshd listens)");
        assert_eq!(field(&json, &other_port), "EPERM", "another port of the listed host");
    })
}

/// `profile` reaching port `port` (TCP) of `net`, as cage.toml's [system] and `reach` give it.
fn with_targets(mut profile: Profile, net: &str, port: u16) -> Profile {
    use cage::policy::reach::{Cidr, Proto, Target};
    profile.targets = vec![Target { net: Cidr::parse(net).expect("cidr"), port, proto: Proto::Tcp }];
    profile
}

/// Echo requests to OTHER_HOST seen on this machine while `body` runs (a raw ICMP socket of
/// the test's, outside any jail, sees every one that was sent).
fn echo_requests_to_other_host(body: impl FnOnce()) -> usize {
    use nix::sys::socket::{
        recv, setsockopt, socket, sockopt, AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType,
    };
    use std::os::fd::AsRawFd;
    let raw =
        socket(AddressFamily::Inet, SockType::Raw, SockFlag::SOCK_CLOEXEC, SockProtocol::Icmp).expect("raw");
    setsockopt(&raw, sockopt::ReceiveTimeout, &nix::sys::time::TimeVal::new(0, 300_000)).expect("timeout");
    body();
    let other: [u8; 4] = OTHER_HOST.parse::<std::net::Ipv4Addr>().expect("ip").octets();
    let mut seen = 0;
    let mut buf = [0u8; 1500];
    while let Ok(n) = recv(raw.as_raw_fd(), &mut buf, MsgFlags::empty()) {
        let header = usize::from(buf[0] & 0x0f) * 4;
        if n > header && buf[16..20] == other && buf[header] == 8 {
            seen += 1;
        }
    }
    seen
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn raw_ping_and_packet_sockets_reach_no_further_than_the_mode() {
    alone(|| {
        other_host();
        // Unprivileged ICMP ping sockets for every group, as Debian's default has it.
        fs::write("/proc/sys/net/ipv4/ping_group_range", "0 2147483647").expect("ping_group_range");
        let udp = UdpSocket::bind((OTHER_HOST, 0)).expect("udp");
        udp.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
        let probes = [
            format!("raw:{OTHER_HOST}"),
            format!("ping:{OTHER_HOST}"),
            format!("rawudp:{}", udp.local_addr().expect("addr")),
        ];
        let probes: Vec<&str> = probes.iter().map(String::as_str).collect();
        for (network, expected) in
            [("none", "ENETUNREACH"), ("local", "EPERM"), ("layer", "EPERM"), ("any", "ok")]
        {
            let p = inline_profile(&format!("network = \"{network}\"\n[layer.cps]\n"));
            let mut json = BTreeMap::new();
            let echoes = echo_requests_to_other_host(|| {
                json = run(&plan_for(&p, &probes, operator(), &["net_raw"])).0
            });
            let datagram = udp.recv(&mut [0u8; 64]).is_ok();
            for probe in &probes {
                let got = field(&json, probe);
                if network == "none" {
                    assert!(got == "ENETUNREACH" || got == "EPERM", "{network} {probe}: {got}");
                } else {
                    assert_eq!(got, expected, "{network} {probe}");
                }
            }
            let expected_echoes = if network == "any" { 2 } else { 0 };
            assert_eq!(echoes, expected_echoes, "{network}: echo requests that left the jail");
            assert_eq!(datagram, network == "any", "{network}: the raw UDP datagram");
        }
        // A host `layer` lists may be pinged (ICMP to it passes); raw UDP to an unlisted port not.
        let p = inline_profile("network = \"layer\"\n[layer.cps]\n");
        let listed = with_targets(p, &format!("{OTHER_HOST}/32"), 22);
        let mut json = BTreeMap::new();
        let echoes = echo_requests_to_other_host(|| {
            json = run(&plan_for(&listed, &probes, operator(), &["net_raw"])).0
        });
        assert_eq!((field(&json, probes[0]), field(&json, probes[1])), ("ok", "ok"), "ICMP to a listed host");
        assert_eq!(echoes, 2);
        assert_eq!(field(&json, probes[2]), "EPERM", "UDP to a port `reach` does not list");
        assert!(udp.recv(&mut [0u8; 64]).is_err());
    })
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn packet_sockets_are_for_net_raw_aliases_alone_and_see_only_their_namespace_under_none() {
    alone(|| {
        let probes = ["packet:any", "sockpacket:x", "packet:lo"];
        for network in ["local", "layer", "any"] {
            let p = inline_profile(&format!("network = \"{network}\"\n[layer.cps]\n"));
            let root = Identity { uid: 0, gid: 0, ..operator() };
            let (json, _) = run(&plan_for(&p, &probes, root, &[]));
            for probe in probes {
                assert_eq!(field(&json, probe), "EPERM", "{network}: {probe} without net_raw, even as root");
            }
        }
        // Under `none` a net_raw alias's packet socket has the jail's own loopback, nothing else.
        let p = inline_profile("network = \"none\"\n[layer.cps]\n");
        let host_iface = fs::read_dir("/sys/class/net")
            .expect("interfaces")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|name| name != "lo")
            .unwrap_or_else(|| "eth0".into());
        let on_host = format!("packet:{host_iface}");
        let (json, _) = run(&plan_for(&p, &["packet:lo", &on_host], operator(), &["net_raw"]));
        assert_eq!(field(&json, "packet:lo"), "ok", "its own loopback");
        assert_eq!(field(&json, &on_host), "ENODEV", "{host_iface} is not in the jail's namespace");
    })
}

/// Runs `body` in a child process with a private mount namespace whose /etc/resolv.conf names
/// a name server of its own, so `network = "layer"` gets an egress cgroup no other test uses.
#[allow(unsafe_code)] // a fork of the test's own process, for a private mount namespace
fn with_own_layer_cgroup(body: fn()) {
    let resolv = format!("/tmp/cage-resolv-{}", std::process::id());
    let server = 1 + std::process::id() % 250;
    fs::write(&resolv, format!("nameserver 192.0.2.{server}\n")).expect("resolv.conf");
    let child = match cage::sys::fork_alone(None).expect("fork") {
        Some(child) => child,
        None => {
            let ok = std::panic::catch_unwind(|| {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS).expect("unshare");
                let private = nix::mount::MsFlags::MS_REC | nix::mount::MsFlags::MS_PRIVATE;
                nix::mount::mount(None::<&str>, "/", None::<&str>, private, None::<&str>).expect("private");
                let bind = nix::mount::MsFlags::MS_BIND;
                nix::mount::mount(
                    Some(resolv.as_str()),
                    "/etc/resolv.conf",
                    None::<&str>,
                    bind,
                    None::<&str>,
                )
                .expect("bind resolv.conf");
                body();
            });
            cage::sys::exit_now(if ok.is_ok() { 0 } else { 1 })
        }
    };
    let status = nix::sys::wait::waitpid(child, None).expect("wait");
    let _ = fs::remove_file(&resolv);
    assert_eq!(status, nix::sys::wait::WaitStatus::Exited(child, 0), "the child's checks (see its output)");
}

/// An allow-all program standing for whatever else could end up attached.
fn allow_all(attach: u32) -> std::os::fd::OwnedFd {
    let insns = [
        cage::sys::BpfInsn { code: 0xb7, regs: 0, off: 0, imm: 1 },
        cage::sys::BpfInsn { code: 0x95, regs: 0, off: 0, imm: 0 },
    ];
    cage::sys::bpf_prog_load(egress::PROG_TYPE_CGROUP_SOCK_ADDR, attach, &insns).expect("load allow-all")
}

fn layer_refuses_other_hosts() {
    let (tcp, udp, arrived) = reach("layer", OTHER_HOST);
    assert_eq!((tcp.as_str(), udp.as_str()), ("EPERM", "EPERM"), "the filter holds");
    assert!(!arrived);
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_sessions_leaf_gets_the_kept_programs_by_id_and_is_repaired_before_each_use() {
    alone(|| {
        other_host();
        with_own_layer_cgroup(|| {
            use cage::jail::egress::{ATTACH_POINTS, INET4_CONNECT};
            use cage::policy::Network;
            use std::os::fd::{AsRawFd, OwnedFd};
            let kept =
                egress_cgroup::cgroup_for(Network::Layer, &[]).expect("made").expect("layer is filtered");
            let path =
                egress_cgroup::cage_root().expect("root").join(format!("test-leaf-{}", std::process::id()));
            fs::create_dir(&path).expect("a leaf of the test's own");
            let leaf = OwnedFd::from(fs::File::open(&path).expect("open"));
            egress_cgroup::prepare_leaf(Network::Layer, &[], &leaf).expect("attached");
            let ids = |dir: &OwnedFd| -> Vec<Vec<u32>> {
                let query =
                    |(attach, _)| cage::sys::bpf_prog_query(dir.as_raw_fd(), attach).expect("query").1;
                ATTACH_POINTS.into_iter().map(query).collect()
            };
            assert_eq!(ids(&leaf), ids(&kept), "the very programs of the kept cgroup, not loaded again");

            // A jail born in the leaf is filtered as the mode says.
            let p = inline_profile("network = \"layer\"\n[layer.cps]\n");
            let tcp = TcpListener::bind((OTHER_HOST, 0)).expect("tcp");
            tcp.set_nonblocking(true).expect("nonblocking");
            let t = format!("connect:{}", tcp.local_addr().expect("addr"));
            let place = Placement { cgroup: leaf.as_raw_fd(), join: [None, None] };
            let (json, _) = run_placed(&plan_for(&p, &[&t], operator(), &[]), Some(place));
            assert_eq!(field(&json, &t), "EPERM", "the filter holds in the leaf");
            assert!(tcp.accept().is_err(), "nothing arrived");

            // Replaced in the leaf: caught and repaired by the next use.
            cage::sys::bpf_prog_attach(leaf.as_raw_fd(), allow_all(INET4_CONNECT).as_raw_fd(), INET4_CONNECT)
                .expect("replace");
            assert_ne!(ids(&leaf), ids(&kept));
            egress_cgroup::prepare_leaf(Network::Layer, &[], &leaf).expect("repaired");
            assert_eq!(ids(&leaf), ids(&kept), "cage's programs again");
            drop(leaf);
            fs::remove_dir(&path).expect("the test's leaf, empty, is removed");
            let path = fs::read_link(format!("/proc/self/fd/{}", kept.as_raw_fd())).expect("cgroup path");
            drop(kept);
            fs::remove_dir(path).expect("the test's own cgroup, empty again, is removed");
        });
    })
}

#[test]
#[ignore = "root test: `make test` runs it as root"]
fn a_tampered_egress_cgroup_is_caught_and_repaired_before_a_command_runs() {
    alone(|| {
        other_host();
        with_own_layer_cgroup(|| {
            use cage::jail::egress::{INET4_CONNECT, UDP4_SENDMSG};
            use cage::policy::Network;
            use std::os::fd::AsRawFd;
            let dir =
                egress_cgroup::cgroup_for(Network::Layer, &[]).expect("made").expect("layer is filtered");
            egress_cgroup::check(Network::Layer, &[]).expect("intact once made");
            layer_refuses_other_hosts();

            // Replaced: an allow-all program where cage's was.
            for attach in [INET4_CONNECT, UDP4_SENDMSG] {
                cage::sys::bpf_prog_attach(dir.as_raw_fd(), allow_all(attach).as_raw_fd(), attach)
                    .expect("replace");
            }
            assert!(egress_cgroup::check(Network::Layer, &[]).is_err(), "a replaced program is noticed");
            layer_refuses_other_hosts();
            egress_cgroup::check(Network::Layer, &[]).expect("repaired before the command ran");

            // Detached: no program at all on connect4.
            let (_, ids) = cage::sys::bpf_prog_query(dir.as_raw_fd(), INET4_CONNECT).expect("query");
            let program = cage::sys::bpf_prog_get_fd_by_id(ids[0]).expect("program");
            cage::sys::bpf_prog_detach(dir.as_raw_fd(), program.as_raw_fd(), INET4_CONNECT).expect("detach");
            assert!(egress_cgroup::check(Network::Layer, &[]).is_err(), "a detached program is noticed");
            layer_refuses_other_hosts();
            egress_cgroup::check(Network::Layer, &[]).expect("repaired");

            // Beyond repair (writable by others): the command is refused, nothing runs.
            nix::sys::stat::fchmod(dir.as_raw_fd(), nix::sys::stat::Mode::from_bits_truncate(0o777))
                .expect("chmod");
            let p = inline_profile("network = \"layer\"\n[layer.cps]\n");
            let plan = plan_for(&p, &[], operator(), &[]);
            match spawn(&plan, Stdio::default(), true) {
                Err(JailError::Egress(e)) => assert!(e.to_string().contains("root's alone"), "{e}"),
                other => panic!("expected the egress filter to refuse the command, got {other:?}"),
            }
            nix::sys::stat::fchmod(dir.as_raw_fd(), nix::sys::stat::Mode::from_bits_truncate(0o755))
                .expect("chmod");
            egress_cgroup::check(Network::Layer, &[]).expect("intact again");
            let path = fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd())).expect("cgroup path");
            drop(dir);
            fs::remove_dir(path).expect("the test's own cgroup, empty again, is removed");
        });
    })
}
