//! What can go wrong with the queue.

use std::path::PathBuf;

use super::record::DecodeError;
use crate::store::StoreError;

/// A queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The store failed (held by another process, damaged, I/O).
    #[error(transparent)]
    Store(#[from] StoreError),

    /// The store was written by a newer edge-agent, in a format this one
    /// does not know. Nothing is moved or changed: a downgrade must not
    /// destroy the newer agent's data.
    #[error(
        "the queue at {} has on-disk format {found}, newer than this edge-agent reads \
         ({supported}); run the newer edge-agent, or move the directory away to start afresh",
        dir.display()
    )]
    NewerFormat {
        /// The store's directory.
        dir: PathBuf,
        /// The format found.
        found: u8,
        /// The newest format this code reads.
        supported: u8,
    },

    /// A record read while iterating could not be decoded (only the
    /// iterators report this; queue operations move such records aside).
    #[error("record {} of tree {tree} cannot be decoded: {error}", key_text(key))]
    Corrupt {
        /// The tree.
        tree: &'static str,
        /// The raw key.
        key: Vec<u8>,
        /// Why.
        error: DecodeError,
    },
}

/// A key as a person reads it: a sequence number if it is one, else hex.
fn key_text(key: &[u8]) -> String {
    match <[u8; 8]>::try_from(key) {
        Ok(be) => format!("seq {}", u64::from_be_bytes(be)),
        Err(_) => crate::values::hex::encode(key),
    }
}
