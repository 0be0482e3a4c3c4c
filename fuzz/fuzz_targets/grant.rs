//! Grant files (`/etc/cage/grants/LOGIN.toml`). Properties: a grant that parses is written
//! back by `to_toml` as a file that parses to the same grant; its fields obey the documented
//! rules (docs/lifecycle.md); an error points at a place in the file and, like every line
//! shown about the grant, holds no character a terminal would obey.
#![no_main]

use cage::grant::{Grant, GrantError, GrantState};
use cage::time::Timestamp;
use cage_fuzz::obeyed_by_terminals;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let grant = match Grant::parse(text, "g.toml") {
        Ok(grant) => grant,
        Err(GrantError::Source(e)) => {
            assert!(e.line >= 1 && e.line <= text.split('\n').count(), "{e} is outside the file");
            assert!(!e.to_string().chars().any(obeyed_by_terminals), "{e:?}");
            return;
        }
        Err(e) => panic!("parse gave {e:?}"),
    };
    let written = grant.to_toml();
    assert_eq!(Grant::parse(&written, "g.toml"), Ok(grant.clone()), "{written}");
    assert!(grant.not_before < grant.expires, "{grant:?}");
    assert!(!grant.actions.is_empty() && !grant.login.is_empty(), "{grant:?}");
    assert!(grant.revoked.is_none() || grant.state == GrantState::Revoked, "{grant:?}");
    for now in [grant.not_before, grant.expires, Timestamp::MIN, Timestamp::MAX] {
        let line = grant.describe_validity(now);
        assert!(!line.chars().any(obeyed_by_terminals), "{line:?}");
    }
});
