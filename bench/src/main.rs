//! `edge-bench`: benchmarks of edge-agent that print a table of figures,
//! one subcommand per module: `cargo run --release -p edge-bench -- <name>`.
//!
//! - `queue` (`queue.rs`): the durable queue: append+ack throughput, reopen
//!   time and peak RSS with a 100,000-reading backlog, bytes per reading on
//!   disk.
//! - `encodings` (`encodings.rs`): bytes per reading in each uplink
//!   encoding for a realistic batch, encode and pack times.
//! - `plugins` (`plugins.rs`): the plugin host's cost per emitted reading
//!   and the readings/s one plugin instance pushes into the queue.
//! - `energy` (`energy.rs`): energy per reading of the agent against a
//!   naive connect-publish-disconnect client on the simulated module, 24
//!   simulated hours under a paused clock, with SVG timelines.
//!
//! The AT codec's throughput is a criterion bench: `cargo bench -p
//! edge-bench --bench codec`.

mod encodings;
mod energy;
mod plugins;
mod queue;

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("queue") => queue::run(),
        Some("encodings") => encodings::run(),
        Some("plugins") => plugins::run(),
        Some("energy") => energy::run(),
        other => {
            if let Some(name) = other {
                eprintln!("edge-bench: unknown benchmark {name:?}");
            }
            eprintln!(
                "usage: edge-bench <benchmark>\nbenchmarks: queue, encodings, plugins, energy"
            );
            std::process::exit(2);
        }
    }
}
