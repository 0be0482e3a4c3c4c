//! `cagectl`: the admin CLI (see `cagectl --help`).
#![forbid(unsafe_code)]

fn main() {
    let args = std::env::args_os().skip(1).collect();
    let code = cagectl::run(args, &mut std::io::stdout().lock(), &mut std::io::stderr().lock());
    std::process::exit(code);
}
