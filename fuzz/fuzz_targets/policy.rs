//! Policy loading: TOML profiles to a validated set. The input is one or more files, each
//! after a line `#@ NAME.toml` (the text before the first such line is `FUZZ.toml`; a name
//! with a control character is not taken: the errors about a file show its name as it is).
//! Properties: a set that validates reads back unchanged from the policy cache's form for
//! every layer, and a session profile can be built from it; every error points at a place in
//! its file and holds no character a terminal would obey.
#![no_main]

use cage::policy::cache::{decode, encode, AliasFilter};
use cage::policy::{Layer, PolicySet};
use cage_fuzz::obeyed_by_terminals;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let sources = files(text);
    let set = match PolicySet::from_sources(&sources) {
        Ok(set) => set,
        Err(errors) => {
            assert!(!errors.is_empty(), "refused without a reason");
            for e in errors {
                let (_, text) = sources.iter().find(|(f, _)| *f == e.file).expect("an error names its file");
                assert!(e.line >= 1 && e.line <= text.split('\n').count(), "{e} is outside its file");
                assert!(!e.to_string().chars().any(obeyed_by_terminals), "{e:?}");
            }
            return;
        }
    };
    for layer in Layer::ALL {
        let entry = encode(&set, layer).expect("a validated set encodes");
        let text = std::str::from_utf8(&entry).expect("JSON is UTF-8");
        let back = decode(text, layer, &AliasFilter::All);
        assert_eq!(back, Some(set.only_layer(layer)), "the cache changes the set for {layer}");
        for action in set.actions() {
            let _ = set.profile(std::slice::from_ref(&action.id), layer);
        }
    }
});

/// The files of one input: `(path, text)` pairs as the loader would read them.
fn files(text: &str) -> Vec<(String, String)> {
    let mut files = vec![("/etc/cage/policies/FUZZ.toml".to_string(), String::new())];
    for line in text.split_inclusive('\n') {
        // Names as a directory can hold them, and printable: errors name their file as it is.
        let name = line.strip_prefix("#@ ").map(str::trim_end).filter(|n| !n.contains('/'));
        let path =
            name.filter(|n| !n.chars().any(obeyed_by_terminals)).map(|n| format!("/etc/cage/policies/{n}"));
        match path {
            Some(path) if files.len() < 16 && !files.iter().any(|(p, _)| *p == path) => {
                files.push((path, String::new()))
            }
            _ => files.last_mut().expect("one file at least").1.push_str(line),
        }
    }
    if files.len() > 1 && files[0].1.trim().is_empty() {
        files.remove(0);
    }
    files
}
