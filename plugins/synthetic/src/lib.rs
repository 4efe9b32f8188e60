//! synthetic core (doc and glue to come)
pub mod config;
pub mod generator;
pub mod pacer;
pub mod pattern;
