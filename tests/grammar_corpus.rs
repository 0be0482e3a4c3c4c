//! The grammar corpus: what an operator sees for each line in `tests/corpus/lines.txt`, and
//! robustness of `parse_line` on every prefix of it and on pseudo-random bytes.
#![forbid(unsafe_code)]

use cage::line::{
    parse_line, render_caret, Command, Connector, Line, LineErrorKind, RedirectOp, MAX_LINE_BYTES,
};

const CORPUS: &str = include_str!("corpus/lines.txt");

/// One corpus case: its line number in the file, the input bytes and the expected outcome text.
struct Case {
    number: usize,
    input: Vec<u8>,
    expected: String,
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (index, line) in CORPUS.lines().enumerate() {
        if !line.starts_with('"') {
            continue;
        }
        let (input, rest) =
            unescape(&line[1..]).unwrap_or_else(|| panic!("corpus line {}: bad quoted input", index + 1));
        cases.push(Case { number: index + 1, input, expected: rest.trim().to_string() });
    }
    cases
}

/// Reads a quoted input up to its closing `"`; returns the bytes and the text after the quote.
fn unescape(text: &str) -> Option<(Vec<u8>, &str)> {
    let mut bytes = Vec::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((bytes, &text[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => bytes.push(b'\n'),
                'r' => bytes.push(b'\r'),
                't' => bytes.push(b'\t'),
                '0' => bytes.push(0),
                'x' => {
                    let hex: String = [chars.next()?.1, chars.next()?.1].iter().collect();
                    bytes.push(u8::from_str_radix(&hex, 16).ok()?);
                }
                'u' => {
                    let rest = &text[i + 2..];
                    let close = rest.find('}')?;
                    let code = u32::from_str_radix(rest.get(1..close)?, 16).ok()?;
                    let mut buf = [0; 4];
                    bytes.extend(char::from_u32(code)?.encode_utf8(&mut buf).as_bytes());
                    chars.nth(close); // skips `{HEX}`
                }
                other => bytes.extend(other.to_string().as_bytes()),
            },
            _ => bytes.extend(c.to_string().as_bytes()),
        }
    }
    None
}

/// What runs, in the corpus notation: `["ls"] 2>&1 | ["wc"] && ["x"]`.
fn render(line: &Line) -> String {
    if line.items.is_empty() {
        return "(empty)".into();
    }
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
    let mut out = format!("{:?}", command.argv_strings());
    for redirect in &command.redirects {
        out.push(' ');
        out.push_str(redirect.op.symbol());
        if let Some(target) = &redirect.target {
            out.push_str(&format!("{:?}", target.text));
        }
    }
    out
}

/// The variant name of a kind, without its data: `LookAlike { .. }` -> `LookAlike`.
fn kind_name(kind: &LineErrorKind) -> String {
    let debug = format!("{kind:?}");
    debug.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or_default().to_string()
}

fn outcome(input: &[u8]) -> String {
    match parse_line(input) {
        Ok(line) => format!("ok {}", render(&line)),
        Err(e) => format!("err {} @{}", kind_name(&e.kind), e.offset),
    }
}

#[test]
fn every_corpus_line_gives_the_expected_outcome() {
    let cases = cases();
    assert!(cases.len() >= 130, "only {} corpus cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let got = outcome(&case.input);
            let expected = case.expected.split_whitespace().collect::<Vec<_>>().join(" ");
            (got != expected).then(|| format!("line {}: want {expected}\n          got  {got}", case.number))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_refusal_is_one_safe_line_naming_its_offset() {
    for case in cases() {
        let Err(err) = parse_line(&case.input) else {
            continue;
        };
        let message = err.to_string();
        assert!(message.ends_with(&format!(" at byte {}", err.offset)), "{message}");
        assert!(!message.chars().any(char::is_control), "line {}: {message:?}", case.number);
        assert_safe_caret(&case.input);
    }
}

#[test]
fn a_full_length_line_is_accepted_and_one_byte_more_is_refused() {
    let mut line = b"echo ".to_vec();
    line.resize(MAX_LINE_BYTES, b'a');
    let word = "a".repeat(MAX_LINE_BYTES - 5);
    assert_eq!(outcome(&line), format!("ok [\"echo\", \"{word}\"]"));
    line.push(b'a');
    assert_eq!(outcome(&line), format!("err TooLong @{MAX_LINE_BYTES}"));
    line.resize(5000, b'a');
    assert_eq!(outcome(&line), format!("err TooLong @{MAX_LINE_BYTES}"));
}

#[test]
fn length_is_refused_before_what_the_long_line_contains() {
    let mut line = vec![b'a'; 5000];
    line[10] = 0;
    assert_eq!(outcome(&line), format!("err TooLong @{MAX_LINE_BYTES}"));
    let mut full = vec![b'a'; MAX_LINE_BYTES];
    full[MAX_LINE_BYTES - 1] = b'$';
    assert_eq!(outcome(&full), format!("err Dollar @{}", MAX_LINE_BYTES - 1));
}

#[test]
fn caret_escapes_escape_and_sits_under_the_offending_character() {
    let input = b"ls \x1b[31m";
    let err = parse_line(input).err().unwrap_or_else(|| panic!("accepted"));
    assert_eq!(render_caret(input, &err), "ls \\x1b[31m\n   ^\n");
}

#[test]
fn caret_counts_a_multibyte_character_as_one_column() {
    let input = "café;`id`".as_bytes();
    let err = parse_line(input).err().unwrap_or_else(|| panic!("accepted"));
    assert_eq!(err.offset, 6, "byte offset counts the two bytes of é");
    assert_eq!(render_caret(input, &err), "café;`id`\n     ^\n");
}

#[test]
fn caret_on_a_long_line_is_cut_around_the_offset() {
    let mut input = vec![b'x'; 5000];
    input[4095] = b'$';
    let err = parse_line(&input).err().unwrap_or_else(|| panic!("accepted"));
    let shown = render_caret(&input, &err);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("...") && lines[0].ends_with("..."), "{}", lines[0]);
    assert!(lines[0].len() < 100);
    assert_eq!(lines[1].trim_start(), "^");
}

/// The caret rendering holds no control character but its two newlines.
fn assert_safe_caret(input: &[u8]) {
    if let Err(err) = parse_line(input) {
        let shown = render_caret(input, &err);
        assert_eq!(shown.matches('\n').count(), 2, "{shown:?}");
        assert!(shown.ends_with("^\n"), "{shown:?}");
        let raw = shown.chars().find(|&c| c.is_control() && c != '\n');
        assert_eq!(raw, None, "raw control character in {shown:?}");
        for c in ['\u{202e}', '\u{200b}', '\u{feff}', '\u{ff1b}', '\u{a0}'] {
            assert!(!shown.contains(c), "raw {c:?} in {shown:?}");
        }
    }
}

/// Invariants of every accepted line: nothing empty, spans inside the input, no refused
/// character in any word, and a target for every redirection but `2>&1`.
fn assert_well_formed(input: &[u8]) {
    let Ok(line) = parse_line(input) else {
        return;
    };
    for (index, item) in line.items.iter().enumerate() {
        assert_eq!(index == 0, item.connector == Connector::First, "{input:?}");
        assert!(!item.pipeline.stages.is_empty(), "{input:?}");
    }
    for command in line.commands() {
        assert!(!command.argv.is_empty(), "{input:?}");
        let targets = command.redirects.iter().filter_map(|r| r.target.as_ref());
        for word in command.argv.iter().chain(targets) {
            assert!(word.span.start < word.span.end && word.span.end <= input.len(), "{input:?}");
            let refused = |c: char| c == '$' || c == '`' || (c.is_control() && c != '\t');
            assert!(!word.text.chars().any(refused), "{input:?} gave {:?}", word.text);
        }
        for redirect in &command.redirects {
            assert!(redirect.span.end <= input.len(), "{input:?}");
            assert_eq!(redirect.target.is_none(), redirect.op == RedirectOp::ErrToOut);
        }
    }
}

fn assert_robust(input: &[u8]) {
    if let Err(err) = parse_line(input) {
        assert!(err.offset <= input.len(), "{input:?}: {err:?}");
    }
    assert_well_formed(input);
    assert_safe_caret(input);
}

#[test]
fn every_prefix_of_every_corpus_line_parses_without_panicking() {
    for case in cases() {
        for end in 0..=case.input.len() {
            assert_robust(&case.input[..end]);
        }
    }
}

/// xorshift64: enough randomness for fuzz-style inputs, reproducible, no dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn pseudo_random_bytes_parse_without_panicking() {
    // Bytes that matter to the grammar, so random lines reach deep into it, plus raw bytes.
    const ALPHABET: &[u8] = b"ab12 \t'\"\\|&;<>()=${}*?[]~#!\n\x1b\x7f\xc2\x9b\xe2\x80\xae\xff";
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for round in 0..6000 {
        let len = rng.below(if round % 100 == 0 { 5000 } else { 48 });
        let input: Vec<u8> = (0..len)
            .map(|_| match round % 2 {
                0 => ALPHABET[rng.below(ALPHABET.len())],
                _ => rng.next() as u8,
            })
            .collect();
        assert_robust(&input);
    }
}
