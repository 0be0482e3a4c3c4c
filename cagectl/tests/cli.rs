//! cagectl's command line as an admin meets it: `--help`, `--version` and each subcommand's
//! help (exit 0, on stdout), an unknown option refused by name (exit 2) before anything is
//! read or written, and the bash completion script as bash itself runs it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cagectl_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cagectl")).current_dir(dir).args(args).output().expect("run cagectl")
}

fn cagectl(args: &[&str]) -> Output {
    cagectl_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An empty directory of the test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cagectl-cli-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// What `dir` holds: each file's name and content.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .map(|p| (p.display().to_string(), fs::read(&p).unwrap_or_default()))
        .collect();
    files.sort();
    files
}

/// Exit 0, the help on stdout and nothing on stderr; the help's text.
fn help(args: &[&str]) -> String {
    let out = cagectl(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn help_and_version_exit_zero_and_print_the_usage() {
    let out = cagectl(&["--version"]);
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), format!("cagectl {}\n", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(help(&["version"]), format!("cagectl {}\n", env!("CARGO_PKG_VERSION")));

    let top = help(&["--help"]);
    assert!(top.contains("Usage: cagectl <COMMAND>"), "{top}");
    for sub in ["check", "explain", "request", "grant", "revoke", "audit", "completions"] {
        assert!(top.lines().any(|l| l.trim_start().starts_with(&format!("{sub} "))), "{sub} in:\n{top}");
    }
    assert_eq!(help(&["-h"]).lines().next(), top.lines().next());

    let grant = help(&["grant", "--help"]);
    assert!(
        grant.contains(
            "Usage: cagectl grant --login NAME --actions A[,B...] (--duration D | --until T) --req ID"
        ),
        "{grant}"
    );
    for option in ["--login <NAME>", "--until <T>", "--create-user", "--ssh-ca <CAKEY>"] {
        assert!(grant.contains(option), "{option} in:\n{grant}");
    }

    let show = help(&["audit", "show", "--help"]);
    assert!(show.contains("Usage: cagectl audit show [FILTERS] [--json] [FILE...]"), "{show}");
    for option in ["--req <ID>", "--since <T>", "--event <E[,E...]>", "--decision <allow|deny>", "--json"] {
        assert!(show.contains(option), "{option} in:\n{show}");
    }
    assert_eq!(help(&["help", "audit", "show"]), show);

    let audit = help(&["audit", "--help"]);
    for sub in ["verify", "rotate", "show", "tail", "export", "play"] {
        assert!(audit.lines().any(|l| l.trim_start().starts_with(&format!("{sub} "))), "{sub} in:\n{audit}");
    }

    // -h anywhere before `--` asks for help, also after other arguments; `help SUB` too.
    let revoke = help(&["revoke", "--help"]);
    assert!(revoke.contains("Usage: cagectl revoke LOGIN|ID [--reason TEXT]"), "{revoke}");
    assert_eq!(help(&["revoke", "x", "-h"]), revoke);
    assert_eq!(help(&["help", "revoke"]), revoke);
}

#[test]
fn without_a_subcommand_or_with_an_unknown_one_the_exit_is_two() {
    let out = cagectl(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty() && text(&out.stderr).contains("Usage: cagectl <COMMAND>"));
    let out = cagectl(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("cagectl: unknown subcommand `frobnicate`\n"),
        "{}",
        text(&out.stderr)
    );
    let out = cagectl(&["audti"]);
    assert!(text(&out.stderr).starts_with("cagectl: unknown subcommand `audti` (did you mean audit?)\n"));
    assert_eq!(cagectl(&["help", "nope"]).status.code(), Some(2));
}

/// Exit 2, nothing on stdout, and the first line of stderr.
fn refused_in(dir: &Path, args: &[&str]) -> String {
    let out = cagectl_in(dir, args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
    assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
    text(&out.stderr).lines().next().unwrap_or_default().to_string()
}

#[test]
fn an_unknown_option_is_refused_by_name_and_never_read_as_a_file() {
    // A file named like the option: read as one, it would be verified (and named on stdout).
    let dir = scratch("unknown");
    fs::write(dir.join("--bogus"), "").expect("file");
    fs::write(dir.join("-q"), "").expect("file");
    let before = contents(&dir);
    assert_eq!(refused_in(&dir, &["audit", "verify", "--bogus"]), "cagectl: unknown option --bogus");
    assert_eq!(refused_in(&dir, &["audit", "verify", "-q"]), "cagectl: unknown option -q");
    assert_eq!(refused_in(&dir, &["audit", "show", "--bogus"]), "cagectl: unknown option --bogus");
    assert_eq!(refused_in(&dir, &["list", "--frobnicate"]), "cagectl: unknown option --frobnicate");
    assert_eq!(refused_in(&dir, &["check", "-x"]), "cagectl: unknown option -x");
    assert_eq!(refused_in(&dir, &["list", "--al"]), "cagectl: unknown option --al (did you mean --all?)");
    // A grant whose directory is the scratch one: refused before it is written.
    let grants = dir.to_str().expect("path");
    let grant = ["grant", "--login", "op", "--actions", "INFRA_DIAG", "--duration", "1h", "--req", "R"];
    let line = refused_in(&dir, &[&grant[..], &["--grants", grants, "--bogus"]].concat());
    assert_eq!(line, "cagectl: unknown option --bogus");
    assert_eq!(contents(&dir), before, "nothing was written");
    let _ = fs::remove_dir_all(&dir);
}

/// What bash completes for the words `line` (the last one being completed), through the
/// function `cagectl completions bash` registers for cagectl.
fn completed(line: &[&str]) -> Vec<String> {
    let script = cagectl(&["completions", "bash"]);
    assert_eq!(script.status.code(), Some(0), "{}", text(&script.stderr));
    let dir = scratch(&format!("bash-{}", line.len()));
    let file = dir.join("cagectl.bash");
    fs::write(&file, &script.stdout).expect("script");
    let words: Vec<String> = line.iter().map(|w| format!("'{w}'")).collect();
    let driver = format!(
        r#"source {file}
function=$(complete -p cagectl | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
[ -n "$function" ] || {{ echo 'no completion function for cagectl' >&2; exit 1; }}
COMP_WORDS=({words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
"$function" cagectl "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        file = file.display(),
        words = words.join(" ")
    );
    let out = Command::new("bash").arg("--norc").arg("-c").arg(driver).output().expect("run bash");
    let _ = fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_string).collect()
}

#[test]
fn the_bash_completion_completes_subcommands_and_options() {
    assert_eq!(completed(&["cagectl", "au"]), ["audit"]);
    assert_eq!(completed(&["cagectl", "audit", "sh"]), ["show"]);
    assert_eq!(completed(&["cagectl", "list", "--a"]), ["--all"]);
    assert_eq!(completed(&["cagectl", "grant", "--create"]), ["--create-user"]);
}

#[test]
fn zsh_and_fish_scripts_name_every_subcommand() {
    for shell in ["zsh", "fish"] {
        let out = cagectl(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        for sub in ["check", "explain", "request", "grant", "revoke", "audit", "verify", "play"] {
            assert!(script.contains(sub), "{shell}: {sub}");
        }
    }
    assert_eq!(cagectl(&["completions", "tcsh"]).status.code(), Some(2));
}
