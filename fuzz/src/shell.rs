//! A parsed line written back as text, from the grammar in docs/command-language.md: every
//! word in single quotes, operators spelled out and set apart by spaces.

use cage::line::{Command, Connector, Line, Word};

/// The line as an operator could type it to mean the same commands.
pub fn render(line: &Line) -> String {
    let mut out = String::new();
    for item in &line.items {
        out.push_str(match item.connector {
            Connector::First => "",
            Connector::Seq => " ; ",
            Connector::And => " && ",
            Connector::Or => " || ",
        });
        let stages: Vec<String> = item.pipeline.stages.iter().map(render_command).collect();
        out.push_str(&stages.join(" | "));
    }
    out
}

fn render_command(command: &Command) -> String {
    let mut parts: Vec<String> = command.argv.iter().map(|w| quote(&w.text)).collect();
    for redirect in &command.redirects {
        parts.push(redirect.op.symbol().to_string());
        parts.extend(redirect.target.as_ref().map(|w| quote(&w.text)));
    }
    parts.join(" ")
}

/// `text` in single quotes; a quote inside becomes `'\''`, as in sh.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A command as what runs: its argv, and each redirection's operator and target.
pub type Stage = (Vec<String>, Vec<(String, Option<String>)>);

/// What runs, without the places in the input: connectors, argv and redirections.
pub fn shape(line: &Line) -> Vec<(Connector, Vec<Stage>)> {
    let text = |w: &Word| w.text.clone();
    line.items
        .iter()
        .map(|item| {
            let stages = item.pipeline.stages.iter().map(|c| {
                let redirects =
                    c.redirects.iter().map(|r| (r.op.symbol().to_string(), r.target.as_ref().map(text)));
                (c.argv.iter().map(text).collect(), redirects.collect())
            });
            (item.connector, stages.collect())
        })
        .collect()
}
