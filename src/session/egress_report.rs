//! After each line: what the egress filter refused to the line's jails, shown to the operator
//! in one line and recorded as an `egress` denial tied to the line, so a connection the
//! network policy stopped is not seen only as the program's own "Failed to connect".
#![forbid(unsafe_code)]

use std::io::Write;

use super::cgroup::SessionCgroup;
use super::Context;
use crate::audit::{Entry, Verdict};
use crate::jail::egress::Refused;

/// Reads, shows and records what was refused since the line began.
pub(super) fn after_line(ctx: &mut Context, title: &[u8]) {
    let Some(found) = ctx.cgroup.as_ref().map(SessionCgroup::egress_refused) else { return };
    let mode = ctx.profile.network.name();
    for refused in found {
        let refused = match refused {
            Ok(refused) => refused,
            Err(e) => {
                let _ = writeln!(ctx.err, "cage: what the network policy refused could not be read: {e}");
                continue;
            }
        };
        let _ = writeln!(ctx.err, "cage: {}", said(mode, &refused));
        let entry = Entry {
            title: title.to_vec(),
            cwd: Some(ctx.session.cwd.clone()),
            decision: Some(Verdict::Deny),
            rule: Some(format!("network:{mode}")),
            ..Entry::new("egress")
        }
        .with("network", mode)
        .with("destination", refused.destination.clone())
        .with("connections", refused.connections)
        .with("packets", refused.packets)
        .with("reason", format!("the network policy ({mode}) refused it"));
        if let Err(e) = ctx.audit.record_deferred(&entry) {
            let _ = writeln!(ctx.err, "cage: the refused connection was not recorded: {e}");
        }
    }
}

/// `the network policy (local) refused 1 connection to 198.18.0.1:80`.
fn said(mode: &str, refused: &Refused) -> String {
    let count = |n: u32, one: &str, many: &str| match n {
        0 => None,
        1 => Some(format!("1 {one}")),
        n => Some(format!("{n} {many}")),
    };
    let parts: Vec<String> = [
        count(refused.connections, "connection", "connections"),
        count(refused.packets, "packet", "packets"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let refusal = format!("the network policy ({mode}) refused {}", parts.join(" and "));
    match refused.connections + refused.packets {
        1 => format!("{refusal} to {}", refused.destination),
        _ => format!("{refusal} (the last to {})", refused.destination),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operator_reads_what_was_refused_and_where() {
        let one = Refused { connections: 1, packets: 0, destination: "198.18.0.1:80".into() };
        assert_eq!(said("local", &one), "the network policy (local) refused 1 connection to 198.18.0.1:80");
        let many = Refused { connections: 2, packets: 3, destination: "198.18.0.1".into() };
        assert_eq!(
            said("layer", &many),
            "the network policy (layer) refused 2 connections and 3 packets (the last to 198.18.0.1)"
        );
    }
}
