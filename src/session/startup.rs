//! Startup of the setuid binary: sanitize the process first, then load and check the
//! configuration, the operator's grant and the profiles, refusing with one clear line.
#![forbid(unsafe_code)]

use nix::sys::resource::{setrlimit, Resource};
use nix::sys::stat::{umask, Mode};
use nix::unistd::{getuid, User};

use super::login_error::LoginError;
use crate::config::{self, Config, LandlockMode};
use crate::grant::Grant;
use crate::jail::Identity;
use crate::policy::cache::{self, AliasFilter};
use crate::policy::{Layer, PolicySet, Profile};
use crate::time::{format_remaining, Timestamp};
use crate::{sys, trust};

/// The environment values cage keeps (validated); everything else is dropped.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub term: Option<String>,
    pub lang: Option<String>,
    pub tz: Option<String>,
    pub ssh_connection: Option<String>,
    pub ssh_tty: Option<String>,
    pub ssh_original_command: Option<Vec<u8>>,
    /// sshd's record of how the session authenticated (`ExposeAuthInfo`).
    pub ssh_user_auth: Option<String>,
}

fn valid(value: &str, extra: &str, max: usize) -> bool {
    !value.is_empty()
        && value.len() <= max
        && value.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

/// Closes every fd above 2, keeps only the validated variables, and hardens the process.
pub fn sanitize() -> Env {
    let _ = sys::close_range(3, u32::MAX, 0);
    let var = |name: &str| std::env::var(name).ok();
    let env = Env {
        term: var("TERM").filter(|v| valid(v, "-+._", 64)),
        lang: var("LANG").filter(|v| valid(v, "-._@", 64)),
        tz: var("TZ").filter(|v| valid(v, "-+_/:", 64) && !v.contains("..")),
        ssh_connection: var("SSH_CONNECTION").filter(|v| valid(v, ".: ", 128)),
        ssh_tty: var("SSH_TTY").filter(|v| v.starts_with("/dev/pts/") && valid(&v[9..], "", 8)),
        ssh_user_auth: var("SSH_USER_AUTH")
            .filter(|v| v.starts_with('/') && valid(v, "/._-", 256) && !v.contains("..")),
        ssh_original_command: std::env::var_os("SSH_ORIGINAL_COMMAND").map(|v| {
            use std::os::unix::ffi::OsStrExt;
            v.as_bytes().to_vec()
        }),
    };
    for (key, _) in std::env::vars_os() {
        std::env::remove_var(key);
    }
    std::env::set_var("PATH", crate::jail::JAIL_PATH);
    umask(Mode::from_bits_truncate(0o077));
    let _ = nix::sys::prctl::set_dumpable(false);
    let _ = setrlimit(Resource::RLIMIT_CORE, 0, 0);
    env
}

/// What a session runs with, all checked.
pub struct Login {
    pub config: Config,
    pub grant_path: String,
    pub grant: Grant,
    pub profile: Profile,
    pub operator: Identity,
    /// When the session's SSH certificate expires, if it logged in with one.
    pub certificate_expires: Option<Timestamp>,
}

/// Loads and checks everything for the real user; the error is the one line to show.
/// `aliases`: which aliases the session may run (all, or those a `-c` line names).
pub fn load(env: &Env, aliases: &AliasFilter) -> Result<Login, LoginError> {
    let uid = getuid();
    let user = User::from_uid(uid)
        .map_err(|e| LoginError::Account(format!("cannot look up uid {uid}: {e}")))?
        .ok_or_else(|| LoginError::Account(format!("uid {uid} has no account")))?;
    let grant_path = format!("{}/{}.toml", config::grant_dir(), user.name);
    let operator = super::identity::of_caller(user)?;
    let config = config::load().map_err(LoginError::Config)?;
    let grant = read_grant(&grant_path, &operator.name)?;
    let set = load_policies(&grant.actions, config.layer, aliases)?;
    grant
        .check_actions(|a| set.is_grantable(a), &grant_path)
        .map_err(|e| LoginError::Grant(e.to_string()))?;
    check_validity(&grant)?;
    let certificate_expires =
        super::certificate::check(env.ssh_user_auth.as_deref(), &grant, &operator.name, operator.uid)?;
    let mut profile =
        set.profile(&grant.actions, config.layer).map_err(|e| LoginError::Policy(e.to_string()))?;
    profile.place_in(&config.system);
    Ok(Login { config, grant_path, grant, profile, operator, certificate_expires })
}

/// The granted actions and what they inherit, each read through a trusted path and validated
/// (`cagectl check` validates the whole directory; a login reads only what it needs), or
/// their validated set kept by an earlier login from exactly these texts (`policy::cache`),
/// with the aliases `aliases` asks for.
fn load_policies(granted: &[String], layer: Layer, aliases: &AliasFilter) -> Result<PolicySet, LoginError> {
    let dir = config::policy_dir();
    let mut wanted: Vec<String> = granted.to_vec();
    let mut sources: Vec<(String, String)> = Vec::new();
    while let Some(id) = wanted.pop() {
        if !crate::policy::types::is_action_id(&id)
            || sources.iter().any(|(f, _)| f.ends_with(&format!("/{id}.toml")))
        {
            continue;
        }
        let path = format!("{dir}/{id}.toml");
        let text = match trust::read_file(&path) {
            Ok(text) => text,
            Err(trust::TrustError::Missing { .. }) => {
                return Err(LoginError::Policy(format!("action `{id}` has no profile in {dir}")))
            }
            Err(e) => return Err(LoginError::Policy(e.to_string())),
        };
        wanted.extend(inherited(&text));
        sources.push((path, text));
    }
    let key = cache::key(&sources, layer);
    if let Some(set) =
        key.as_deref().and_then(|key| cache::load(&config::policy_cache_dir(), key, layer, aliases))
    {
        return Ok(set);
    }
    let set = PolicySet::from_sources(&sources).map_err(|errors| {
        let first = errors.first().map(ToString::to_string).unwrap_or_default();
        LoginError::Policy(format!("the policy has {} error(s), first: {first}", errors.len()))
    })?;
    if let Some(key) = key {
        cache::store(&config::policy_cache_dir(), &key, &set, layer);
    }
    Ok(set)
}

/// The aliases a `cage -c` line may run: those its words name (every word, not only the
/// commands': a superset costs nothing). `help` lists them all; a line that does not parse
/// is refused later with its own error.
pub fn aliases_named(line: &[u8]) -> AliasFilter {
    let Ok(parsed) = crate::line::parse_line(line) else { return AliasFilter::All };
    if parsed.commands().any(|c| c.name() == "help") {
        return AliasFilter::All;
    }
    AliasFilter::Named(parsed.commands().flat_map(|c| c.argv_strings()).collect())
}

/// The action ids named on a profile's `inherits` line, to know which files to read next.
/// A plain scan, not a second parse: validation later refuses any `inherits` this missed
/// (an unknown parent), and an id it picks up wrongly only costs one more file read.
fn inherited(text: &str) -> Vec<String> {
    let start = text.lines().find(|l| l.trim_start().starts_with("inherits")).map(|l| l.as_ptr() as usize);
    let Some(offset) = start.map(|p| p - text.as_ptr() as usize) else { return Vec::new() };
    let rest = &text[offset..];
    let array = rest.split_once(']').map_or(rest, |(array, _)| array);
    array.split('"').skip(1).step_by(2).map(str::to_string).collect()
}

/// Reads the grant of `login` and checks it names that login.
pub fn read_grant(path: &str, login: &str) -> Result<Grant, LoginError> {
    let text = trust::read_file(path).map_err(|e| match e {
        trust::TrustError::Missing { .. } => LoginError::Grant(format!("no grant for {login}")),
        other => LoginError::Grant(other.to_string()),
    })?;
    let grant = Grant::parse(&text, path).map_err(|e| LoginError::Grant(e.to_string()))?;
    if grant.login != login {
        return Err(LoginError::Grant(format!("{path} is a grant for {}, not {login}", grant.login)));
    }
    Ok(grant)
}

pub fn check_validity(grant: &Grant) -> Result<(), LoginError> {
    let now = Timestamp::now();
    match grant.validity(now).is_valid() {
        true => Ok(()),
        false => Err(LoginError::NotInForce(grant.describe_validity(now))),
    }
}

/// The grant's summary for the prompt and `grant`: request, actions, expiry, time left.
pub fn summary(grant: &Grant) -> String {
    let left = grant.expires.duration_since(Timestamp::now()).map_or("expired".to_string(), format_remaining);
    format!(
        "request {}: {} until {} ({left} left)",
        grant.req_auth_id,
        grant.actions.join(", "),
        grant.expires
    )
}

pub fn landlock_required(config: &Config) -> bool {
    config.landlock == LandlockMode::Required
}

#[cfg(test)]
mod tests {
    use super::{aliases_named, inherited, AliasFilter};

    #[test]
    fn a_line_wants_the_aliases_its_words_name_and_help_wants_all() {
        let named = |words: &[&str]| AliasFilter::Named(words.iter().map(|w| w.to_string()).collect());
        assert_eq!(aliases_named(b"du -s /u01 | sort -n"), named(&["du", "-s", "/u01", "sort", "-n"]));
        assert_eq!(aliases_named(b"d'u' x && \"ps\""), named(&["du", "x", "ps"]), "after quote removal");
        assert_eq!(aliases_named(b"ls; help"), AliasFilter::All);
        assert_eq!(aliases_named(b"ls |"), AliasFilter::All, "a line that does not parse");
    }

    #[test]
    fn inherits_are_found_on_one_line_or_several() {
        assert_eq!(inherited("description = \"x\"\ninherits = [\"A\", \"B\"]\n"), vec!["A", "B"]);
        assert_eq!(
            inherited("inherits = [\n  \"A\",\n  \"B\",\n]\n[layer.cps]\nx = \"C\"\n"),
            vec!["A", "B"]
        );
        assert!(inherited("[layer.cps]\n").is_empty());
    }
}
