//! What the fuzz targets share: the bundled policies, renderers written apart from cage's
//! own code (a shell line, a canonical audit record, an OpenSSH certificate), and a reader
//! that turns the fuzzer's bytes into structured values. Each target then checks a property
//! of what cage parses, not only that it does not panic (docs/assurance.md).

pub mod bundled;
pub mod canonical;
pub mod openssh;
pub mod shell;
pub mod trail;

/// The fuzzer's bytes read as a sequence of choices; reading past the end yields zeros
/// and empty strings, so every input describes some value.
pub struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input(data)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn byte(&mut self) -> u8 {
        let Some((&first, rest)) = self.0.split_first() else { return 0 };
        self.0 = rest;
        first
    }

    /// A yes or no.
    pub fn flip(&mut self) -> bool {
        self.byte() & 1 == 0
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    pub fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }

    /// Up to `max` raw bytes (the length is the next byte).
    pub fn bytes(&mut self, max: usize) -> &'a [u8] {
        let len = usize::from(self.byte()).min(max).min(self.0.len());
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        head
    }

    /// A string of up to `max` bytes; invalid UTF-8 is replaced, so any byte can steer it.
    pub fn text(&mut self, max: usize) -> String {
        String::from_utf8_lossy(self.bytes(max)).into_owned()
    }

    /// One of `choices` (never called with an empty slice).
    pub fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        choices[usize::from(self.byte()) % choices.len()]
    }

    /// Everything not read yet.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
}

/// Whether a terminal would obey `c` rather than show it: a control character (C0, DEL,
/// C1), a bidirectional mark, override or isolate, or a line or paragraph separator. What
/// cage shows about a file or a line escapes these.
pub fn obeyed_by_terminals(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{2028}' | '\u{2029}')
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}
