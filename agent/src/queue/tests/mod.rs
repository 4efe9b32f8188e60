//! Tests of the queue as a whole: `examples.rs`, one behaviour per test;
//! `model.rs`, a model-based property test against a reference in memory.

mod examples;
mod model;
