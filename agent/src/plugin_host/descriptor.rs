//! A plugin's descriptor, checked and copied into host-side types.
//!
//! The loader finds the entry symbol and calls it; this file decides whether
//! what came back is a descriptor this agent can use: the magic, the ABI
//! major, a size covering every field of ABI 1.0, UTF-8 name and version,
//! the required functions present. The runtime then only ever sees a
//! [`PluginApi`], never the raw descriptor.

use std::fmt;
use std::mem::size_of;
use std::ptr;

use edge_agent_sdk::abi::{
    self, CommandFn, CreateFn, DestroyFn, InstanceFn, PluginDescriptor, ABI_MAJOR, ABI_MINOR, MAGIC,
};

/// What a plugin's descriptor says, checked. Cheap to clone; the function
/// pointers stay valid for the life of the process because a plugin library
/// is never unloaded.
#[derive(Clone)]
pub struct PluginApi {
    pub name: String,
    pub version: String,
    /// The ABI version the plugin was built against.
    pub abi_major: u16,
    pub abi_minor: u16,
    pub(crate) create: CreateFn,
    pub(crate) destroy: DestroyFn,
    pub(crate) poll: Option<InstanceFn>,
    pub(crate) start: Option<InstanceFn>,
    pub(crate) stop: Option<InstanceFn>,
    pub(crate) command: Option<CommandFn>,
}

impl fmt::Debug for PluginApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginApi")
            .field("name", &self.name)
            .field("version", &self.version)
            .field(
                "abi",
                &format_args!("{}.{}", self.abi_major, self.abi_minor),
            )
            .field("poll", &self.poll.is_some())
            .field("start", &self.start.is_some())
            .field("stop", &self.stop.is_some())
            .field("command", &self.command.is_some())
            .finish()
    }
}

impl PluginApi {
    /// Polls (rather than only pushing from its own thread).
    pub fn can_poll(&self) -> bool {
        self.poll.is_some()
    }

    /// Has a push mode (`start`/`stop`).
    pub fn can_push(&self) -> bool {
        self.start.is_some() && self.stop.is_some()
    }

    /// Takes downlink commands.
    pub fn takes_commands(&self) -> bool {
        self.command.is_some()
    }

    /// Checks the descriptor at `descriptor` and copies what the host needs.
    ///
    /// # Safety
    /// `descriptor` must be null or point at memory that stays readable for
    /// the life of the process (a descriptor in a library that is never
    /// unloaded) and holds at least the descriptor's first three fields;
    /// the rest is read only when its `size` says it is there.
    pub unsafe fn from_raw(descriptor: *const PluginDescriptor) -> Result<Self, DescriptorError> {
        if descriptor.is_null() {
            return Err(DescriptorError::Null);
        }
        // Read the fixed head field by field: until `size` is known, the
        // struct may be shorter than ours and must not be read whole.
        // SAFETY: the caller guarantees the head is readable; unaligned reads
        // because a broken plugin may return any address.
        let (magic, abi_major, abi_minor, size) = unsafe {
            (
                ptr::addr_of!((*descriptor).magic).read_unaligned(),
                ptr::addr_of!((*descriptor).abi_major).read_unaligned(),
                ptr::addr_of!((*descriptor).abi_minor).read_unaligned(),
                ptr::addr_of!((*descriptor).size).read_unaligned(),
            )
        };
        if magic != MAGIC {
            return Err(DescriptorError::Magic { found: magic });
        }
        if abi_major != ABI_MAJOR {
            return Err(DescriptorError::AbiMajor {
                found: abi_major,
                found_minor: abi_minor,
            });
        }
        let minimum = size_of::<PluginDescriptor>();
        if (size as usize) < minimum {
            return Err(DescriptorError::TooSmall {
                found: size,
                minimum,
            });
        }
        if !descriptor.is_aligned() {
            return Err(DescriptorError::Misaligned);
        }
        // SAFETY: aligned, and `size` says every field of ABI 1.0 is there.
        let d = unsafe { &*descriptor };
        if d.flags != 0 {
            return Err(DescriptorError::Flags { found: d.flags });
        }
        // SAFETY: the name and version are the plugin's statics (contract).
        let name = unsafe { text(d.name) }.ok_or(DescriptorError::NotText { field: "name" })?;
        let version =
            unsafe { text(d.version) }.ok_or(DescriptorError::NotText { field: "version" })?;
        if name.is_empty() {
            return Err(DescriptorError::NotText { field: "name" });
        }
        let create = d
            .create
            .ok_or(DescriptorError::Missing { function: "create" })?;
        let destroy = d.destroy.ok_or(DescriptorError::Missing {
            function: "destroy",
        })?;
        if d.poll.is_none() && (d.start.is_none() || d.stop.is_none()) {
            return Err(DescriptorError::Missing {
                function: "poll, or start and stop",
            });
        }
        Ok(PluginApi {
            name,
            version,
            abi_major,
            abi_minor,
            create,
            destroy,
            poll: d.poll,
            start: d.start,
            stop: d.stop,
            command: d.command,
        })
    }
}

/// # Safety
/// As [`abi::Bytes::as_slice`].
unsafe fn text(bytes: abi::Bytes) -> Option<String> {
    // SAFETY: forwarded to the caller.
    let slice = unsafe { bytes.as_slice() }?;
    std::str::from_utf8(slice).ok().map(str::to_owned)
}

/// Why a descriptor was refused: what was found, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescriptorError {
    #[error("the entry symbol returned no descriptor (a null pointer)")]
    Null,
    #[error("the descriptor's magic number is {found:#010x}, expected {MAGIC:#010x}: not an edge-agent plugin descriptor")]
    Magic { found: u32 },
    #[error("the plugin was built for plugin ABI {found}.{found_minor}; this agent speaks ABI {ABI_MAJOR}.{ABI_MINOR} (rebuild it against edge-agent-sdk {ABI_MAJOR}.x)")]
    AbiMajor { found: u16, found_minor: u16 },
    #[error("the descriptor says it is {found} bytes; ABI {ABI_MAJOR}.0's is {minimum}")]
    TooSmall { found: u32, minimum: usize },
    #[error("the descriptor is not aligned for its type")]
    Misaligned,
    #[error("the descriptor's reserved flags are {found:#x}, expected 0")]
    Flags { found: u32 },
    #[error("the descriptor's {field} is not UTF-8 text (or is empty)")]
    NotText { field: &'static str },
    #[error("the descriptor has no `{function}` function")]
    Missing { function: &'static str },
}
