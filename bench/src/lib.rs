//! Benchmarks of edge-agent. `benches/codec.rs` measures the AT codec's
//! throughput (`cargo bench -p edge-bench --bench codec`); later benchmarks
//! (queue, energy) join this crate.
