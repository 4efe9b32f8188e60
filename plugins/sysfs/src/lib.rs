//! sysfs core (doc and glue to come)
pub mod config;
pub mod power_supply;
pub mod procfs;
pub mod reader;
pub mod sampler;
pub mod thermal;

#[cfg(test)]
mod test_tree;
