//! One reader of a row of `facts/actions.txt` (ACTIONS LAYER VERDICT LINE), shared by the tests
//! that check the table (tests/actions.rs, tests/decision_properties.rs and the container tests),
//! so that no copy reads a row differently.
#![allow(dead_code)] // each test crate uses part of it

/// A row: the fields are separated by any run of blanks, and the line is the rest of the row.
pub struct Row<'a> {
    pub actions: &'a str,
    pub layer: &'a str,
    pub verdict: &'a str,
    pub line: &'a str,
}

/// The rows of `table`: blank lines and `#` comments skipped; a row that does not read as
/// ACTIONS LAYER VERDICT LINE is given back as it is, for the caller to fail on.
pub fn rows(table: &str) -> impl Iterator<Item = Result<Row<'_>, &str>> {
    let lines = table.lines().map(str::trim);
    lines.filter(|l| !l.is_empty() && !l.starts_with('#')).map(|text| row(text).ok_or(text))
}

/// One row, or `None` when it does not read as ACTIONS LAYER VERDICT LINE.
pub fn row(row: &str) -> Option<Row<'_>> {
    let (actions, rest) = field(row)?;
    let (layer, rest) = field(rest)?;
    let (verdict, rest) = field(rest)?;
    let line = rest.trim();
    (!line.is_empty()).then_some(Row { actions, layer, verdict, line })
}

/// The first field of `text` and what follows it.
fn field(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start();
    let end = text.find(char::is_whitespace)?;
    Some((&text[..end], &text[end..]))
}
