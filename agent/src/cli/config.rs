//! `edge-agent config`: a complete, commented sample configuration, built
//! into the binary, since an installed system has no `configs/` directory.
//!
//! The sample is the repository's `configs/lexi-r10.toml` (one file, so the
//! two cannot differ); `tests/it/config_cli.rs` loads what this prints
//! through the real loader and checks that it names every key the
//! configuration's types accept.

use super::output::print_stdout;

/// `configs/lexi-r10.toml`: every key, its default and why.
const SAMPLE: &str = include_str!("../../../configs/lexi-r10.toml");

/// Prints the sample on stdout.
pub fn run() -> anyhow::Result<()> {
    print_stdout(SAMPLE)
}
