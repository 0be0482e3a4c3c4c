//! The names operators type for cage's file commands (`ls` for `sudols`...), and where a
//! session has them.
#![forbid(unsafe_code)]

use crate::policy::{FileCommand, Origin, Profile};

/// The names operators type for cage's file commands.
pub const FAMILIAR: [(&str, FileCommand); 8] = [
    ("ls", FileCommand::Sudols),
    ("cat", FileCommand::Sudocat),
    ("head", FileCommand::Sudohead),
    ("tail", FileCommand::Sudotail),
    ("cp", FileCommand::Sudocp),
    ("rm", FileCommand::Sudorm),
    ("vi", FileCommand::Sudovi),
    ("vim", FileCommand::Sudovi),
];

/// `ls` as `sudols`, `vi` as `sudovi`...: where the grant has the file command, no alias of
/// the policy takes the name, and no program would be found by it (a profile with path
/// commands or full access runs the real `ls` in its jail).
pub fn familiar<'p>(profile: &'p Profile, name: &str) -> Option<(FileCommand, &'p Origin)> {
    if profile.full_access.is_some()
        || !profile.path_commands.is_empty()
        || profile.aliases.contains_key(name)
    {
        return None;
    }
    let (_, command) = FAMILIAR.iter().find(|(n, _)| *n == name)?;
    profile.file_commands.get(command).map(|origin| (*command, origin))
}
