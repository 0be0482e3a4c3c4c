//! cage: a restricted login shell for temporary operator accounts.
//!
//! Unsafe code is denied crate-wide (Cargo.toml `[lints]`); only `src/sys/` may lift it.
//! The public API is what the `cage` binary, cagectl, the notifier, the tests and the fuzz
//! targets use; everything else is `pub(crate)`, and `unreachable_pub` keeps it so.
#![warn(unreachable_pub)]

pub mod audit;
pub mod config;
pub mod decide;
pub mod files;
pub mod grant;
pub(crate) mod hex;
pub mod jail;
pub mod line;
pub mod notify;
pub mod policy;
pub mod request;
pub mod session;
pub mod shown;
pub mod source;
#[allow(unsafe_code)]
pub mod sys;
pub mod time;
pub mod trust;
