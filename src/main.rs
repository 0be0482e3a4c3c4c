//! `cage`: the login shell. Dispatches on argv[0] and the arguments; every refusal is one
//! line on stderr and an exit status.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use cage::policy::cache::AliasFilter;
use cage::policy::FileCommand;
use cage::session::{monitor, recording, startup};

const USAGE: &str = "usage: cage (as a login shell) | cage -c 'COMMAND LINE'";

/// `cage --help`: fixed text (nothing is read before it is shown).
const HELP: &str = "\
cage: a restricted login shell for temporary operator accounts

usage: cage                    as the login shell of a granted account (sshd starts it)
       cage -c 'COMMAND LINE'  runs one line under the account's grant, then exits
       sudocat FILE...         the file commands, through their symlinks (also sudols,
                               sudotail, sudohead, sudocp, sudovi, sudorm)
       cage --help | --version

Every line is decided against the actions the account's grant approves, recorded in the
audit trail before it runs, and run in a jail. Inside a session, `help` lists what the grant
allows. Administrators use cagectl(8); see cage(1).
";

/// What this invocation asks for.
enum Mode {
    Interactive,
    Command(Vec<u8>),
}

/// `sudocat F` run through its symlink is `cage -c 'sudocat F'`, each argument quoted.
fn applet_line(name: &str, args: &[OsString]) -> Vec<u8> {
    let mut line = name.as_bytes().to_vec();
    for arg in args {
        line.extend_from_slice(b" '");
        for &b in arg.as_bytes() {
            if b == b'\'' {
                line.extend_from_slice(b"'\\''");
            } else {
                line.push(b);
            }
        }
        line.push(b'\'');
    }
    line
}

fn mode(args: &[OsString], env: &startup::Env) -> Result<Mode, String> {
    // An empty argv (exec with no arguments at all, the pkexec trick) is refused outright.
    let Some((argv0, rest)) = args.split_first() else {
        return Err("started without an argv[0]".into());
    };
    let argv0 = argv0.to_string_lossy().into_owned();
    let name = argv0.rsplit('/').next().unwrap_or(&argv0).to_string();
    if let Some(command) = FileCommand::parse(&name) {
        return Ok(Mode::Command(applet_line(command.name(), rest)));
    }
    let rest: Vec<&[u8]> = rest.iter().map(|a| a.as_bytes()).collect();
    match rest.as_slice() {
        [b"-c", line] => Ok(Mode::Command(line.to_vec())),
        [b"-c"] => Err("-c needs a command line".into()),
        [] => match &env.ssh_original_command {
            Some(line) => Ok(Mode::Command(line.clone())),
            None if name.starts_with('-') || nix::unistd::isatty(0).unwrap_or(false) => Ok(Mode::Interactive),
            None => Err("no terminal and no command: nothing to do".into()),
        },
        [first, ..] => {
            Err(format!("`{}` is not accepted", cage::shown::shown(&String::from_utf8_lossy(first))))
        }
    }
}

/// The session's id, and its recording when its actions ask for one (from here on this
/// process is the session; the one that started it records it).
fn session_start(login: &startup::Login, env: &startup::Env) -> Result<monitor::Start, String> {
    let session = cage::audit::new_session_id().map_err(|e| format!("session id: {e}"))?;
    let recording = recording::start(&session, login, env).map_err(|e| e.to_string())?;
    Ok(monitor::Start { session, recording })
}

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    // Fixed text, before anything is read: safe to answer in a setuid program.
    if let [argv0, flag] = args.as_slice() {
        let is_cage = argv0.as_bytes().rsplit(|&b| b == b'/').next().is_some_and(|n| n == b"cage");
        match flag.as_bytes() {
            b"--help" if is_cage => {
                print!("{HELP}");
                std::process::exit(0);
            }
            b"--version" if is_cage => {
                println!("cage {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            _ => {}
        }
    }
    let env = startup::sanitize();
    let mode = match mode(&args, &env) {
        Ok(mode) => mode,
        Err(e) => {
            eprintln!("cage: {e}; {USAGE}");
            std::process::exit(2);
        }
    };
    let aliases = match &mode {
        Mode::Command(line) => startup::aliases_named(line),
        Mode::Interactive => AliasFilter::All,
    };
    let login = match startup::load(&env, &aliases) {
        Ok(login) => login,
        Err(reason) => {
            eprintln!("cage: login refused: {reason}");
            std::process::exit(1);
        }
    };
    let start = match session_start(&login, &env) {
        Ok(start) => start,
        Err(reason) => {
            eprintln!("cage: login refused: {reason}");
            std::process::exit(1);
        }
    };
    let status = match mode {
        Mode::Command(line) => monitor::run_command(&login, &env, start, &line),
        Mode::Interactive => monitor::run_interactive(&login, &env, start),
    };
    std::process::exit(status);
}
