//! Access request files (`/etc/cage/requests/ID.toml`) and the public key a request carries.
//! Properties: a request that parses is written back by `to_toml` as a file that parses to
//! the same request; an error points at a place in the file and holds no character a
//! terminal would obey; a key line that passes the check is one printable line.
#![no_main]

use cage::request::{check_public_key, Request};
use cage_fuzz::obeyed_by_terminals;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(key) = check_public_key(text) {
        assert!(!key.chars().any(obeyed_by_terminals), "{key:?}");
    }
    let request = match Request::parse(text, "r.toml") {
        Ok(request) => request,
        Err(e) => {
            assert!(e.line >= 1 && e.line <= text.split('\n').count(), "{e} is outside the file");
            assert!(!e.to_string().chars().any(obeyed_by_terminals), "{e:?}");
            return;
        }
    };
    let written = request.to_toml();
    assert_eq!(Request::parse(&written, "r.toml"), Ok(request.clone()), "{written}");
    assert!(!request.actions.is_empty() && !request.duration.is_zero(), "{request:?}");
});
