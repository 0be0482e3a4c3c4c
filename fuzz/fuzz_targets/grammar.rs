//! Argument grammars: each command of a line that parses is checked against every alias
//! grammar of the bundled policies, and decided by each grantable action's profile on each
//! layer. Properties: what a grammar matched is words the operator typed; a refusal points at
//! one of them, or just past the last for what is missing; so does a refused decision,
//! within the command's argv.
#![no_main]

use cage::decide::{decide, Decision};
use cage::line::parse_line;
use cage_fuzz::bundled;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = parse_line(data) else { return };
    let session = bundled::session();
    for command in line.commands() {
        let args: Vec<&str> = command.args().iter().map(|w| w.text.as_str()).collect();
        for (name, grammar) in bundled::grammars() {
            match grammar.check(&args) {
                Ok(matched) => {
                    let typed = |&i: &usize| i < args.len();
                    assert!(matched.positionals.iter().all(typed), "{name} {args:?}: {matched:?}");
                    assert!(matched.readable.iter().all(typed), "{name} {args:?}: {matched:?}");
                }
                Err(denial) => {
                    assert!(denial.at.is_none_or(|i| i <= args.len()), "{name} {args:?}: {denial:?}");
                    let _ = denial.error.to_string();
                }
            }
        }
        for profile in bundled::profiles() {
            if let Decision::Deny(denial) = decide(profile, &session, command) {
                assert!(denial.at.is_none_or(|i| i <= command.argv.len()), "{:?}: {denial:?}", command.argv);
                let _ = denial.reason.to_string();
            }
        }
    }
});
