//! `edge-bench`: benchmarks that print a table of figures, one subcommand
//! per module: `cargo run --release -p edge-bench -- <name>`.
//!
//! - `encodings` (`encodings.rs`): bytes per reading in each uplink
//!   encoding for a realistic batch, encode and pack times.

mod encodings;

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("encodings") => encodings::run(),
        other => {
            if let Some(name) = other {
                eprintln!("edge-bench: unknown benchmark {name:?}");
            }
            eprintln!("usage: edge-bench <benchmark>\nbenchmarks: encodings");
            std::process::exit(2);
        }
    }
}
