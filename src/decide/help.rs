//! `help`: what a grant allows, short enough for one screen (names grouped, wrapped to 78
//! columns), and `help all`: every command with the policy's own one-line summary.
#![forbid(unsafe_code)]

use super::familiar::{familiar, FAMILIAR};
use crate::policy::{AliasTarget, FileCommand, Profile};

const WIDTH: usize = 78;
const BUILTINS: &str = "help exit logout pwd cd history grant clear";

/// `help`: the names, grouped; a dozen lines for the largest bundled grant.
pub(crate) fn short(p: &Profile, who: &str) -> String {
    let mut text = header(p, who);
    if p.full_access.is_some() {
        text.push_str("full access: any command, as root, without a jail (still recorded)\n");
    }
    let commands: Vec<String> = p.aliases.keys().cloned().collect();
    group(&mut text, "commands", &commands);
    group(&mut text, "files", &file_commands(p));
    group(&mut text, "read-write", &p.read_write.iter().map(|r| r.item.written.clone()).collect::<Vec<_>>());
    group(&mut text, "read-only", &p.read_only.iter().map(|r| r.item.written.clone()).collect::<Vec<_>>());
    let mut also = Vec::new();
    if !p.root_exec.is_empty() {
        also.push(format!("rootexec ({} scripts)", p.root_exec.len()));
    }
    if !p.su_into.is_empty() {
        let mut users: Vec<&str> = p.su_into.iter().map(|u| u.item.as_str()).collect();
        users.sort_unstable();
        users.dedup();
        also.push(format!("su ({})", users.join(", ")));
    }
    group(&mut text, "also", &also);
    group(&mut text, "builtins", &BUILTINS.split(' ').map(String::from).collect::<Vec<_>>());
    text.push_str("help NAME: how to use one command; help all: every command with its summary\n");
    text
}

/// `help all`: every command with its summary, then the rest as `help` groups it.
pub(crate) fn all(p: &Profile, who: &str) -> String {
    let mut text = header(p, who);
    for (name, candidates) in &p.aliases {
        let alias = &candidates[0].item;
        let what = match &alias.target {
            _ if !alias.summary.is_empty() => alias.summary.clone(),
            AliasTarget::Applet(fc) => format!("{fc} (as root)"),
            AliasTarget::Binary(bin) => bin.clone(),
        };
        text.push_str(&format!("  {name:<22} {what}\n"));
    }
    let rest = short(p, who);
    text.push_str(rest.split_once('\n').map_or("", |(_, body)| body));
    text
}

fn header(p: &Profile, who: &str) -> String {
    format!("cage: {who} ({}), actions {}\n", p.layer, p.granted.join(", "))
}

/// Each granted file command, with the familiar names it also answers to.
fn file_commands(p: &Profile) -> Vec<String> {
    let named = |command: FileCommand| {
        let names: Vec<&str> = FAMILIAR
            .iter()
            .filter(|(n, c)| *c == command && familiar(p, n).is_some())
            .map(|(n, _)| *n)
            .collect();
        match names.is_empty() {
            true => command.name().to_string(),
            false => format!("{} ({})", command.name(), names.join(" ")),
        }
    };
    p.file_commands.keys().map(|c| named(*c)).collect()
}

/// `title: a b c`, wrapped under itself at [`WIDTH`].
fn group(text: &mut String, title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    let indent = 12;
    let mut line = format!("{:<indent$}", format!("{title}:"));
    for item in items {
        if line.len() > indent && line.len() + 1 + item.len() > WIDTH {
            text.push_str(line.trim_end());
            text.push('\n');
            line = " ".repeat(indent);
        }
        if line.len() > indent {
            line.push(' ');
        }
        line.push_str(item);
    }
    text.push_str(&line);
    text.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Layer, PolicySet};

    fn bundled(actions: &[&str], layer: Layer) -> Profile {
        let set = PolicySet::load_dir(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/policies")))
            .expect("bundled policies");
        let granted: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
        set.profile(&granted, layer).expect("profile")
    }

    #[test]
    fn help_fits_a_screen_and_help_all_has_every_summary() {
        let p = bundled(&["INFRA_UPDATE_RESTART"], Layer::Cps);
        let short = short(&p, "op on cps01");
        assert!(short.lines().count() <= 24, "{short}");
        assert!(short.lines().all(|l| l.chars().count() <= WIDTH), "{short}");
        assert!(short.contains("files:      sudocat (cat)") || short.contains("sudols (ls)"), "{short}");
        assert!(short.ends_with("help all: every command with its summary\n"), "{short}");
        let all = all(&p, "op on cps01");
        for (name, candidates) in &p.aliases {
            let summary = &candidates[0].item.summary;
            assert!(all.contains(&format!("  {name:<22} {summary}")), "{name} in {all}");
        }
    }
}
