//! The SMTP login: `username` and `password` in a root-only TOML file (`credentials_file`),
//! refused when it is not root's or group/world-readable.
#![forbid(unsafe_code)]

use serde::Deserialize;

#[derive(Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Login {
    /// The password never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login").field("username", &self.username).finish_non_exhaustive()
    }
}

pub fn read(path: &str) -> Result<Login, String> {
    let text = cage::trust::read_secret(path).map_err(|e| e.to_string())?;
    parse(&text, path)
}

fn parse(text: &str, path: &str) -> Result<Login, String> {
    // toml's message quotes the offending line: keep the password out of it.
    let login: Login = toml::from_str(text)
        .map_err(|_| format!("{path}: not `username = \"...\"` and `password = \"...\"` (TOML)"))?;
    if login.username.is_empty() || login.password.is_empty() {
        return Err(format!("{path}: username or password is empty"));
    }
    Ok(login)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_is_two_keys_and_errors_never_show_the_password() {
        let login = parse("username = \"cage\"\npassword = \"s3cret\"\n", "f").expect("valid");
        assert_eq!((login.username.as_str(), login.password.as_str()), ("cage", "s3cret"));
        assert!(!format!("{login:?}").contains("s3cret"));
        let e = parse("username = \"cage\"\npassword = s3cret\n", "f").expect_err("unquoted");
        assert!(!e.contains("s3cret") && e.starts_with("f: "), "{e}");
        assert!(parse("username = \"\"\npassword = \"x\"\n", "f").is_err());
        assert!(parse("username = \"a\"\npassword = \"x\"\nhost = \"y\"\n", "f").is_err());
    }
}
