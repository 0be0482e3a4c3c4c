//! An operator's ssh public key as one `authorized_keys` line, checked before it is stored.
#![forbid(unsafe_code)]

/// Key types sshd accepts for user authentication (plain keys; certificates come another way).
const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// Checks a public key file's text: exactly one line `TYPE BASE64 [COMMENT]`, no options
/// (a `command=` or `from=` prefix is the admin's to add, never the requester's), printable.
/// Returns the line without its end.
pub fn check_public_key(text: &str) -> Result<String, String> {
    let line = text.strip_suffix('\n').unwrap_or(text);
    if line.contains('\n') || line.contains('\r') {
        return Err("the key file must hold exactly one key line".into());
    }
    if line.chars().any(|c| c.is_control() || crate::shown::is_deceptive(c)) {
        return Err("the key line contains control characters".into());
    }
    let mut parts = line.split(' ');
    let kind = parts.next().unwrap_or_default();
    if !KEY_TYPES.contains(&kind) {
        return Err(format!(
            "`{}` is not a public key type sshd accepts (the file must start with e.g. ssh-ed25519)",
            crate::shown::shown(&kind.chars().take(40).collect::<String>())
        ));
    }
    let blob = parts.next().unwrap_or_default();
    let base64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
    if blob.len() < 16 || blob.len() > 16_384 || !blob.chars().all(base64) {
        return Err("the key's second field is not a base64 key".into());
    }
    Ok(line.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFHvDqUL8X2kZQ8pUO0gTnHk0q4pEZ9g2S3x2Q7eVf1K op@laptop";

    #[test]
    fn one_plain_key_line_is_accepted() {
        assert_eq!(check_public_key(&format!("{KEY}\n")).as_deref(), Ok(KEY));
        let bare = KEY.rsplit_once(' ').map(|(k, _)| k).unwrap_or_default();
        assert_eq!(check_public_key(bare).as_deref(), Ok(bare));
    }

    #[test]
    fn options_several_lines_and_garbage_are_refused() {
        assert!(check_public_key(&format!("command=\"sh\" {KEY}")).is_err());
        assert!(check_public_key(&format!("{KEY}\n{KEY}\n")).is_err());
        assert!(check_public_key("ssh-ed25519 not*base64*at*all*here").is_err());
        assert!(check_public_key(&format!("{KEY}\u{1b}[2J")).is_err());
        assert!(check_public_key("").is_err());
    }
}
