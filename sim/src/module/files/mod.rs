//! The module's file system, as §7.2 uses it and u-blox's host library
//! drives it on LEXI-R10 `[lib]`: `+FOPEN`, `+FWRITE`, `+FWRITEHEX`,
//! `+FSEEK`, `+FREAD`, `+FCLOSE`, `+FDELETE`, `+ULSTFILE`. The HTTP client
//! (`module/http`) reads request bodies from it and writes responses to it.
//!
//! The files live in NVM (`NvmImage::files`): they survive deep sleep,
//! reboot and power cuts, and every change is an NVM write. Open handles
//! and their positions are volatile: a boot or a deep sleep closes them.
//!
//! Wire forms (the note's §7.2 without its typesetting spaces; `[lib]`
//! where ubxlib shows them, `[model]` where neither does):
//! - `AT+FOPEN="<name>"[,0]` -> `+FOPEN: <h>`: opens, creating an empty file
//!   if there is none; handles count from 1 (§7.2), the lowest free one
//!   first `[model]`; mode 0 only, as ubxlib sends it `[lib]`. At most
//!   4 open at once and a name open once `[model]`: else CME 3.
//!   `AT+FOPEN?` -> `+FOPEN: "<name>",<h>` per open file `[lib]`.
//! - `AT+FWRITE=<h>,<n>` -> `CONNECT` -> exactly n raw bytes (not echoed)
//!   -> `+FWRITE: <n>,<file size>` `OK` (§7.2). `AT+FWRITEHEX=<h>,<n>`
//!   the same with n hex characters for n/2 bytes `[lib]` (`+FWRITE`
//!   counts bytes). A write goes at the handle's position, overwriting and
//!   then extending, and moves it on `[model]`; n is 1 to 65536 bytes
//!   `[model]`. A write that does not fit answers CME 20 after its bytes
//!   and writes nothing `[model]`.
//! - `AT+FSEEK=<h>,<offset>`: 0 to the file's size `[model]`.
//! - `AT+FREAD=<h>[,<n>]` -> `CONNECT <k>` then exactly k raw bytes then
//!   `OK` (§7.2, `[lib]`), k the bytes left from the position (at most n);
//!   the position moves on.
//! - `AT+FCLOSE=<h>`. `AT+FDELETE=<h>` deletes the open file and closes the
//!   handle `[lib]`; `AT+FDELETE="<name>"` deletes by name `[model]`.
//! - `AT+ULSTFILE=0` (or `AT+ULSTFILE`) -> `+ULSTFILE: "<a>","<b>"` (no line
//!   without files) `[lib]`; `AT+ULSTFILE=1` -> `+ULSTFILE: <free bytes>`
//!   `[model]`; `AT+ULSTFILE=2,"<name>"` -> `+ULSTFILE: <size>` `[lib]`.
//! - Errors `[model]`: a handle that is not open or a bad name or value
//!   CME 50; a file that does not exist CME 22 (not found); the file system
//!   full CME 20 (memory full). Limits: `store.rs`.
//!
//! The files: `store` (the files and their limits, as NVM holds them),
//! `handles` (open files), `commands` (open, close, seek, delete, list),
//! `transfer` (read, and the writes' `CONNECT` data mode).

mod commands;
mod handles;
mod store;
mod transfer;

pub(super) use handles::OpenFiles;
pub use store::{FileStore, CAPACITY};
