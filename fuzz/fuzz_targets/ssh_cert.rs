//! OpenSSH certificate blobs (what `SSH_USER_AUTH` names at a certificate login). The input
//! is read twice: as a blob, and as the fields of a certificate this target writes itself.
//! Properties: a blob that parses has only printable text fields; a written certificate
//! reads back with the fields it was written with (through the `publickey TYPE BASE64` line
//! too), or is refused exactly when one of its text fields is not printable.
#![no_main]

use cage::grant::cert::{from_auth_info, parse, Certificate, ACTIONS_EXTENSION};
use cage_fuzz::openssh::{base64, Cert, KEY_FIELDS};
use cage_fuzz::{obeyed_by_terminals, Input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = parse(data) {
        let texts = [&cert.key_type, &cert.key_id].into_iter().chain(&cert.principals);
        assert!(texts.chain(cert.actions.iter().flatten()).all(|t| printable(t)), "{cert:?}");
    }
    let (written, expected) = certificate(&mut Input::new(data));
    let blob = written.blob();
    let printable_fields = [&written.key_id].into_iter().chain(&written.principals).all(|t| printable(t))
        && written.extensions.iter().all(|(name, data)| {
            // Only the actions extension's data is read; sshd checks the others.
            printable(name) && (name != ACTIONS_EXTENSION || data.as_deref().is_none_or(printable))
        });
    match parse(&blob) {
        Ok(cert) => {
            assert!(printable_fields, "a field that is not printable was read: {cert:?}");
            assert_eq!(cert, expected);
        }
        Err(e) => assert!(!printable_fields, "{e} for {written:?}"),
    }
    let line = format!("password\npublickey {} {}\n", written.key_type, base64(&blob));
    assert_eq!(from_auth_info(&line).ok().flatten(), parse(&blob).ok(), "{line}");
});

fn printable(text: &str) -> bool {
    !text.chars().any(obeyed_by_terminals)
}

/// A user certificate made of the fuzzer's choices, and what cage should read from it.
fn certificate(input: &mut Input) -> (Cert, Certificate) {
    let (key_type, fields) = input.pick(KEY_FIELDS);
    let mut cert = Cert {
        key_type: key_type.to_string(),
        nonce: input.bytes(32).to_vec(),
        serial: input.u64(),
        cert_type: 1,
        key_id: input.text(24),
        valid_after: input.u64(),
        valid_before: input.u64(),
        critical_options: input.bytes(16).to_vec(),
        reserved: input.bytes(4).to_vec(),
        signature_key: input.bytes(40).to_vec(),
        signature: input.bytes(70).to_vec(),
        ..Cert::default()
    };
    cert.key = (0..fields).map(|_| input.bytes(40).to_vec()).collect();
    cert.principals = (0..input.byte() % 4).map(|_| input.text(16)).collect();
    let mut actions = None;
    for _ in 0..input.byte() % 4 {
        let name = match input.byte() % 2 {
            0 => ACTIONS_EXTENSION.to_string(),
            _ => input.text(20),
        };
        let data = (input.byte() & 3 != 0).then(|| input.text(40));
        if name == ACTIONS_EXTENSION {
            let value = data.clone().unwrap_or_default();
            actions = Some(value.split(',').filter(|a| !a.is_empty()).map(str::to_string).collect());
        }
        cert.extensions.push((name, data));
    }
    let expected = Certificate {
        key_type: cert.key_type.clone(),
        serial: cert.serial,
        key_id: cert.key_id.clone(),
        principals: cert.principals.clone(),
        valid_after: cert.valid_after,
        valid_before: cert.valid_before,
        actions,
    };
    (cert, expected)
}
