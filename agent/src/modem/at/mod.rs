//! The AT engine.
