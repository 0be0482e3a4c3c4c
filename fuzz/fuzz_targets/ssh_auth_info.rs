//! The `ExposeAuthInfo` text sshd writes to the file `SSH_USER_AUTH` names. Properties: no
//! certificate line, no certificate; two, a refusal; one, the certificate its line alone
//! gives, of the type the line says, whatever the other lines hold.
#![no_main]

use cage::grant::cert::from_auth_info;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let found = from_auth_info(text);
    let lines: Vec<(&str, &str)> = text
        .lines()
        .filter_map(|line| match line.split(' ').collect::<Vec<_>>()[..] {
            ["publickey", kind, blob, ..] if kind.contains("-cert-v01@openssh.com") => Some((kind, blob)),
            _ => None,
        })
        .collect();
    match lines[..] {
        [] => assert_eq!(found, Ok(None)),
        [(kind, blob)] => {
            assert_eq!(from_auth_info(&format!("publickey {kind} {blob}")), found, "{text:?}");
            if let Ok(Some(cert)) = found {
                assert_eq!(cert.key_type, kind);
            }
        }
        _ => assert!(found.is_err(), "one of several certificates taken: {found:?}"),
    }
});
