//! The validated policy vocabulary: layers, network modes, file commands, run-as, paths.
#![forbid(unsafe_code)]

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where the host sits in the system; set once per host in `/etc/cage/cage.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Layer {
    Cps,
    Host,
    Cell,
    GuestVm,
}

impl Layer {
    pub const ALL: [Layer; 4] = [Layer::Cps, Layer::Host, Layer::Cell, Layer::GuestVm];

    pub fn name(self) -> &'static str {
        match self {
            Layer::Cps => "cps",
            Layer::Host => "host",
            Layer::Cell => "cell",
            Layer::GuestVm => "guest_vm",
        }
    }

    pub fn parse(s: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.name() == s)
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How much of a session's terminal is recorded (asciicast v2 under the sessions directory),
/// from least to most; a union of actions records the most any of them asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Record {
    None,
    /// What the operator typed.
    Input,
    /// What the operator typed and what the session showed.
    Io,
}

impl Record {
    pub const ALL: [Record; 3] = [Record::None, Record::Input, Record::Io];

    pub fn name(self) -> &'static str {
        match self {
            Record::None => "none",
            Record::Input => "input",
            Record::Io => "io",
        }
    }

    pub fn parse(s: &str) -> Option<Record> {
        Record::ALL.into_iter().find(|r| r.name() == s)
    }
}

/// What a jailed command may reach on the network, from least to most.
/// The order matters: a union of actions takes the most permissive one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Network {
    /// No network at all: a fresh network namespace.
    None,
    /// Local IPC and loopback only; no connection leaves the host.
    Local,
    /// May open ssh connections to the other hosts of the system.
    Layer,
    /// Unrestricted.
    Any,
}

impl Network {
    pub const ALL: [Network; 4] = [Network::None, Network::Local, Network::Layer, Network::Any];

    pub fn name(self) -> &'static str {
        match self {
            Network::None => "none",
            Network::Local => "local",
            Network::Layer => "layer",
            Network::Any => "any",
        }
    }

    pub fn parse(s: &str) -> Option<Network> {
        Network::ALL.into_iter().find(|n| n.name() == s)
    }
}

/// The privileged file commands built into cage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FileCommand {
    Sudols,
    Sudocat,
    Sudotail,
    Sudohead,
    Sudocp,
    Sudovi,
    Sudorm,
}

impl FileCommand {
    pub const ALL: [FileCommand; 7] = [
        FileCommand::Sudols,
        FileCommand::Sudocat,
        FileCommand::Sudotail,
        FileCommand::Sudohead,
        FileCommand::Sudocp,
        FileCommand::Sudovi,
        FileCommand::Sudorm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FileCommand::Sudols => "sudols",
            FileCommand::Sudocat => "sudocat",
            FileCommand::Sudotail => "sudotail",
            FileCommand::Sudohead => "sudohead",
            FileCommand::Sudocp => "sudocp",
            FileCommand::Sudovi => "sudovi",
            FileCommand::Sudorm => "sudorm",
        }
    }

    pub fn parse(s: &str) -> Option<FileCommand> {
        FileCommand::ALL.into_iter().find(|c| c.name() == s)
    }
}

impl fmt::Display for FileCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whose identity a command runs with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RunAs {
    /// The logged-in operator.
    Operator,
    /// uid 0, with no capabilities beyond the alias's own.
    Root,
    /// A named service account (e.g. `cellmonitor`).
    User(String),
}

impl fmt::Display for RunAs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunAs::Operator => f.write_str("operator"),
            RunAs::Root => f.write_str("root"),
            RunAs::User(name) => f.write_str(name),
        }
    }
}

/// Linux capabilities an alias may ask for, by their lower-case name without `cap_`.
pub const KNOWN_CAPABILITIES: &[&str] = &[
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// Capabilities that would hand an alias the keys to the jail itself; never grantable.
pub const FORBIDDEN_CAPABILITIES: &[&str] = &[
    "sys_admin",
    "sys_module",
    "sys_ptrace",
    "sys_rawio",
    "setuid",
    "setgid",
    "setpcap",
    "setfcap",
    "dac_override",
    "dac_read_search",
    "fowner",
    "chown",
    "mac_admin",
    "mac_override",
    "bpf",
    "sys_chroot",
    "audit_control",
    "linux_immutable",
    "mknod",
];

/// True when `name` is a valid Linux user or group name (the portable subset).
pub fn is_unix_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some('a'..='z' | '_'));
    first_ok && name.len() <= 32 && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
}

/// True when `id` is a valid action identifier such as `INFRA_DIAG`.
pub fn is_action_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some('A'..='Z'))
        && id.len() <= 64
        && chars.all(|c| matches!(c, 'A'..='Z' | '0'..='9' | '_'))
}
