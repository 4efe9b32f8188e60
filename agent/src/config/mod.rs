//! Configuration: TOML file plus environment overrides.
