//! Lexical path handling: validation of rule paths, normalization of operator paths, rule matching.
#![forbid(unsafe_code)]

/// Paths that hold secrets, hidden from every command and refused to every file command and
/// redirection whatever a profile says: credentials, cage's grants and audit trail, root's
/// home. (ssh host keys are matched by [`is_secret`] as well.)
pub const SECRETS: &[&str] = &[
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/security/opasswd",
    "/etc/cage/grants",
    "/var/log/cage",
    "/root",
];

/// True for a path that is, or lies in, a secret (ssh host keys included).
pub fn is_secret(path: &str) -> bool {
    let host_key = path.starts_with("/etc/ssh/") && path.contains("_key");
    host_key || SECRETS.iter().any(|s| is_within(path, s))
}

/// Longest path cage accepts anywhere (Linux PATH_MAX).
pub const MAX_PATH_BYTES: usize = 4096;

/// Why a path written in a policy is not acceptable.
pub fn rule_path_problem(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("empty path");
    }
    if path.len() > MAX_PATH_BYTES {
        return Some("path longer than 4096 bytes");
    }
    if path.chars().any(|c| c.is_control()) {
        return Some("path contains a control character or NUL");
    }
    if !path.starts_with('/') {
        return Some("relative path: rule paths must be absolute");
    }
    let inner = path.trim_end_matches('/');
    if inner.split('/').skip(1).any(|c| c.is_empty() || c == "." || c == "..") {
        return Some("non-normalized path: no `//`, `.` or `..` components");
    }
    None
}

/// The canonical form of a validated rule path: no trailing slash, except `/` itself.
pub fn canonical_rule_path(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Joins `path` to `cwd` when relative and resolves `.` and `..` lexically.
/// `..` at the root stays at the root, so it can never climb out of a rule by text alone;
/// symlinks are resolved later, by the file commands, from a directory fd.
pub fn normalize(cwd: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined = if path.starts_with('/') { [path, ""] } else { [cwd, path] };
    for part in joined.iter().flat_map(|p| p.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let mut out = String::with_capacity(path.len() + cwd.len());
    for part in &parts {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// True when the normalized `path` is `base` or lies below it.
pub fn is_within(path: &str, base: &str) -> bool {
    if base == "/" {
        return true;
    }
    match path.strip_prefix(base) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_paths_must_be_absolute_and_normalized() {
        assert_eq!(rule_path_problem("/var/log/"), None);
        assert_eq!(rule_path_problem("/"), None);
        assert!(rule_path_problem("var/log").is_some());
        assert!(rule_path_problem("/var//log").is_some());
        assert!(rule_path_problem("/var/./log").is_some());
        assert!(rule_path_problem("/var/log/..").is_some());
        assert!(rule_path_problem("/var/\0log").is_some());
    }

    #[test]
    fn canonical_form_drops_the_trailing_slash() {
        assert_eq!(canonical_rule_path("/var/log/"), "/var/log");
        assert_eq!(canonical_rule_path("/"), "/");
    }

    #[test]
    fn normalize_resolves_dots_against_the_working_directory() {
        assert_eq!(normalize("/u01", "a/../b/./c"), "/u01/b/c");
        assert_eq!(normalize("/u01", "/var/log/../../etc/shadow"), "/etc/shadow");
        assert_eq!(normalize("/", "../../.."), "/");
        assert_eq!(normalize("/home/op", "."), "/home/op");
        assert_eq!(normalize("/x", "//var///log/"), "/var/log");
    }

    #[test]
    fn within_respects_component_boundaries() {
        assert!(is_within("/var/log", "/var/log"));
        assert!(is_within("/var/log/messages", "/var/log"));
        assert!(!is_within("/var/logs/x", "/var/log"));
        assert!(!is_within("/var", "/var/log"));
        assert!(is_within("/anything", "/"));
    }
}
