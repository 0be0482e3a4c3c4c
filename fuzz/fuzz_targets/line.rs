//! The command line (`parse_line`), on any bytes. Properties: a line that parses, written back
//! with every word quoted, parses to the same commands and words; each word's span is the
//! text that reads as that word; a refusal points inside the line, and neither its message
//! nor the caret under the line shows a character a terminal would obey.
#![no_main]

use cage::line::{parse_line, render_caret, Command, Word, MAX_LINE_BYTES};
use cage_fuzz::{obeyed_by_terminals, shell};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = match parse_line(data) {
        Ok(line) => line,
        Err(e) => {
            assert!(e.offset <= data.len().min(MAX_LINE_BYTES), "{e:?} beyond the line");
            let shown = format!("{e}\n{}", render_caret(data, &e));
            let bad = shown.chars().find(|&c| c != '\n' && obeyed_by_terminals(c));
            assert!(bad.is_none(), "{bad:?} reaches the terminal in {shown:?}");
            return;
        }
    };
    let mut spans = Vec::new();
    for command in line.commands() {
        assert!(!command.argv.is_empty(), "a command without a name");
        for word in words(command) {
            let Some(typed) = data.get(word.span.clone()) else {
                panic!("span {:?} beyond the line", word.span)
            };
            spans.push(word.span.clone());
            if typed.len() + 2 > MAX_LINE_BYTES {
                continue;
            }
            // After another word, so that `NAME=x` is an argument and not an assignment.
            let alone = parse_line(&[b"x ", typed].concat()).expect("a word's own text parses");
            let argv = alone.commands().next().map(Command::argv_strings);
            assert_eq!(argv, Some(vec!["x".to_string(), word.text.clone()]), "span {:?}", word.span);
        }
    }
    spans.sort_by_key(|s| s.start);
    assert!(spans.windows(2).all(|w| w[0].end <= w[1].start), "words overlap: {spans:?}");
    let rendered = shell::render(&line);
    if rendered.len() <= MAX_LINE_BYTES {
        let again = parse_line(rendered.as_bytes()).unwrap_or_else(|e| panic!("{rendered:?}: {e}"));
        assert_eq!(shell::shape(&again), shell::shape(&line), "{rendered:?}");
    }
});

/// The words of a command: its argv and its redirection targets.
fn words(command: &Command) -> impl Iterator<Item = &Word> {
    command.argv.iter().chain(command.redirects.iter().filter_map(|r| r.target.as_ref()))
}
