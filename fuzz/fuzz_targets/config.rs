//! `/etc/cage/cage.toml`. Properties: a configuration that parses obeys the rules
//! docs/lifecycle.md and docs/jail.md give it (absolute paths without `..`, ranges in order,
//! temporary user names that `useradd` accepts); an error points at a place in the file and
//! holds no character a terminal would obey.
#![no_main]

use cage::config::{Config, SHORT_ID_LEN};
use cage::policy::types::is_unix_name;
use cage_fuzz::obeyed_by_terminals;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let config = match Config::parse(text, "cage.toml") {
        Ok(config) => config,
        Err(e) => {
            assert!(e.line >= 1 && e.line <= text.split('\n').count(), "{e} is outside the file");
            assert!(!e.to_string().chars().any(obeyed_by_terminals), "{e:?}");
            return;
        }
    };
    let absolute = |path: &str| path.starts_with('/') && !path.split('/').any(|c| c == "..");
    assert!(absolute(&config.audit.file) && !config.audit.file.ends_with('/'), "{:?}", config.audit);
    let access = &config.access;
    assert!(absolute(&access.home_base) && absolute(&access.shell), "{access:?}");
    assert!(access.uid_min <= access.uid_max, "{access:?}");
    assert!(access.default_duration <= access.max_duration, "{access:?}");
    let login = access.login_for(&"0".repeat(SHORT_ID_LEN));
    assert!(is_unix_name(&login), "{login:?} from {access:?}");
    if let Some(host) = &config.hostname {
        assert!(!host.is_empty() && !host.chars().any(obeyed_by_terminals), "{host:?}");
    }
});
