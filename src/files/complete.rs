//! Completion of paths for the REPL: only names inside the readable rules, listed by the
//! monitor through the same resolution as the file commands (the REPL cannot list them).
#![forbid(unsafe_code)]

use nix::dir::Dir;

use super::resolve;
use crate::decide::{judge, Access, Session};
use crate::policy::path::{is_within, normalize};
use crate::policy::Profile;

/// Most names offered at once.
const MAX: usize = 200;

/// Completions of `word` (as typed): the same text with one more name, `/` after directories.
pub(crate) fn complete(profile: &Profile, session: &Session, word: &str) -> Vec<String> {
    let (typed_dir, prefix) = match word.rsplit_once('/') {
        Some((dir, prefix)) => (format!("{dir}/"), prefix),
        None => (String::new(), word),
    };
    let dir = normalize(&session.cwd, if typed_dir.is_empty() { "." } else { &typed_dir });
    let Ok(grant) = judge(profile, &dir, Access::Read) else {
        return toward_rules(profile, &dir, &typed_dir, prefix);
    };
    let Ok(fd) = resolve::open(&grant, libc::O_RDONLY | libc::O_DIRECTORY, 0) else { return Vec::new() };
    let Ok(mut listing) = Dir::from_fd(std::os::fd::IntoRawFd::into_raw_fd(fd)) else { return Vec::new() };
    let mut names: Vec<String> = listing
        .iter()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_str().ok()?.to_string();
            let visible = name != "."
                && name != ".."
                && name.starts_with(prefix)
                && (!prefix.is_empty() || !name.starts_with('.'));
            let is_dir = entry.file_type() == Some(nix::dir::Type::Directory);
            visible.then(|| format!("{typed_dir}{name}{}", if is_dir { "/" } else { "" }))
        })
        .take(MAX)
        .collect();
    names.sort();
    names
}

/// Above the rules (`/var` for a rule `/var/log/`), only the next component of each readable
/// rule is offered: nothing else of such a directory is shown.
fn toward_rules(profile: &Profile, dir: &str, typed_dir: &str, prefix: &str) -> Vec<String> {
    let rules = profile.read_only.iter().chain(&profile.read_write).map(|r| r.item.path.as_str());
    let mut names: Vec<String> = rules
        .filter(|rule| *rule != dir && is_within(rule, dir))
        .filter_map(|rule| rule[dir.len()..].trim_start_matches('/').split('/').next())
        .filter(|next| next.starts_with(prefix))
        .map(|next| format!("{typed_dir}{next}/"))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Layer, PolicySet};

    fn profile() -> Profile {
        let text = "[layer.cps.files]\nread_only = [\"/var/log/\", \"/opt/oracle.cellos/\"]\nread_write = [\"/u01/\"]\n";
        let set = PolicySet::from_sources(&[("P.toml".into(), text.into())]).expect("policy");
        set.profile(&["P".into()], Layer::Cps).expect("profile")
    }

    #[test]
    fn above_the_rules_only_their_next_components_are_offered() {
        let session = Session { login: "op".into(), cwd: "/".into(), home: "/".into() };
        assert_eq!(complete(&profile(), &session, "/var/lo"), vec!["/var/log/"]);
        assert_eq!(complete(&profile(), &session, "/"), vec!["/opt/", "/u01/", "/var/"]);
        assert!(complete(&profile(), &session, "/etc/sha").is_empty());
    }
}
