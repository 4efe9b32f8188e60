//! Bytes from the host -> command lines.
//!
//! The module side of V.250 line input: a command line ends with S3 (CR,
//! `\r`); LF is ignored (hosts often send `\r\n`); S5 (backspace, 0x08) removes
//! the previous character. Echo is not done here: the module echoes every byte
//! before it reaches the assembler, so this type stays a plain buffer.

/// `[model]` The longest command line the simulated module keeps. The note gives
/// no number; the longest line we expect is a `+USECPRF` session blob of a few
/// kB, so 8 kB is generous. A longer line is truncated and answered `ERROR`.
pub const MAX_LINE: usize = 8 * 1024;

const CR: u8 = b'\r';
const LF: u8 = b'\n';
const BACKSPACE: u8 = 0x08;

/// A finished command line, as typed (after backspace editing), without CR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub bytes: Vec<u8>,
    /// Set when the host sent more than [`MAX_LINE`] bytes: the tail was
    /// dropped, so the line cannot be trusted and is answered `ERROR`.
    pub overflowed: bool,
}

/// Collects bytes until CR.
#[derive(Debug, Default)]
pub struct LineAssembler {
    buf: Vec<u8>,
    overflowed: bool,
}

impl LineAssembler {
    /// Feeds one byte; returns the line when `byte` completes one.
    pub fn push(&mut self, byte: u8) -> Option<Line> {
        match byte {
            CR => Some(Line {
                bytes: std::mem::take(&mut self.buf),
                overflowed: std::mem::take(&mut self.overflowed),
            }),
            LF => None,
            BACKSPACE => {
                self.buf.pop();
                None
            }
            other => {
                if self.buf.len() < MAX_LINE {
                    self.buf.push(other);
                } else {
                    self.overflowed = true;
                }
                None
            }
        }
    }

    /// Forgets a partial line (power loss, reboot).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.overflowed = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(asm: &mut LineAssembler, bytes: &[u8]) -> Vec<Line> {
        bytes.iter().filter_map(|b| asm.push(*b)).collect()
    }

    #[test]
    fn cr_ends_a_line_and_lf_is_ignored() {
        let mut asm = LineAssembler::default();
        let lines = feed(&mut asm, b"AT\r\nAT+CGMI\r");
        let texts: Vec<&[u8]> = lines.iter().map(|l| l.bytes.as_slice()).collect();
        assert_eq!(texts, vec![b"AT".as_slice(), b"AT+CGMI".as_slice()]);
    }

    #[test]
    fn backspace_edits_the_line() {
        let mut asm = LineAssembler::default();
        let lines = feed(&mut asm, b"ATX\x08I\r");
        assert_eq!(lines[0].bytes, b"ATI");
    }

    #[test]
    fn a_too_long_line_is_marked_and_the_next_one_is_clean() {
        let mut asm = LineAssembler::default();
        let long = vec![b'A'; MAX_LINE + 10];
        assert!(feed(&mut asm, &long).is_empty());
        let lines = feed(&mut asm, b"\rAT\r");
        assert!(lines[0].overflowed);
        assert_eq!(lines[0].bytes.len(), MAX_LINE);
        assert!(!lines[1].overflowed);
    }

    #[test]
    fn clear_drops_a_partial_line() {
        let mut asm = LineAssembler::default();
        feed(&mut asm, b"AT+CG");
        asm.clear();
        let lines = feed(&mut asm, b"MI\r");
        assert_eq!(lines[0].bytes, b"MI");
    }
}
