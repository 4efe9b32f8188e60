//! Opening the serial port the module hangs on.

use std::path::Path;

use tokio_serial::{SerialPortBuilderExt, SerialStream};

/// Why the port could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open modem port {path}: {source}")]
pub struct OpenError {
    pub path: String,
    #[source]
    pub source: tokio_serial::Error,
}

/// Opens `path` at `baud`, 8N1, no flow control, in raw mode, and takes the
/// exclusive lock (a second agent on the same port would interleave commands).
pub fn open(path: &Path, baud: u32) -> Result<SerialStream, OpenError> {
    let name = path.to_string_lossy().into_owned();
    tokio_serial::new(name.clone(), baud)
        .data_bits(tokio_serial::DataBits::Eight)
        .parity(tokio_serial::Parity::None)
        .stop_bits(tokio_serial::StopBits::One)
        .flow_control(tokio_serial::FlowControl::None)
        .open_native_async()
        .map_err(|source| OpenError { path: name, source })
}
