//! The embedded HTTP client (§7): `+UHTTP` (profiles), `+UHTTPNV`
//! (profiles in NVM), `+UHTTPC` (requests), `+UHTTPER` (last error), the
//! URC `+UUHTTPCR`, file system and direct-link modes.
//!
//! A request is a job (`crate::jobs::http`, a real reqwest client to a real
//! server); this folder is the module's side: profiles, the request in
//! flight, where its response goes, the URCs and error codes. Request
//! bodies and file-mode responses are files of `module/files`.
//!
//! Wire forms (the note's, with its misspellings `AT+UHTTTP`, `AT+UHTTTPC`,
//! `AT+UHTTPCR=...`, `+UHTTPCR:` and `+UFTPER` corrected: the misspelled
//! commands answer `ERROR`, as on the module):
//! - `AT+UHTTP=<p>` resets profile p (RAM only). `AT+UHTTP=<p>,<op>,<value>`
//!   sets: 0 `"<ip>"` and 1 `"<name>"` (each clears the other `[model]`),
//!   2 `"<user>"`, 3 `"<password>"`, 4 `<0 none|1 basic>`, 5 `<port>`,
//!   6 `<0|1>[,<sec profile 0-4>]` (`6,1` alone: profile 0 `[model]`),
//!   7 `<seconds 30-180>` (factory 180 `[model]`), 9
//!   `"<index 0-4>:<name>:<value>"` `[lib]` (`"<index>:"` clears the slot
//!   `[model]`), 10 `<0 file system|1 direct link>` (factory 0), 20
//!   `<cid>[,<ip type>]` (factory `1,0`). Op 6 moves the port (§7.5)
//!   `[model]` read literally: enabling security on port 80 sets 443,
//!   disabling it on 443 sets 80, any other port stays.
//!   `[model]` reads (the note has none): `AT+UHTTP=<p>,<op>` ->
//!   `+UHTTP: <p>,<op>,<value>` as the set writes it (`+UHTTP: 0,6,1,2`,
//!   `+UHTTP: 0,20,1,0`), op 9 one line per header set, op 3 refused
//!   (CME 3: a password is not shown). Limits `[model]` in `settings.rs`.
//! - `AT+UHTTPNV=<p>,0` factory profile and no NVM after a wake; `,1` the
//!   NVM copy (factory if none) and use it after a wake; `,2` store to NVM
//!   (an NVM write only when it changed) and use it after a wake.
//!   `AT+UHTTPNV?` -> `+UHTTPNV: <p>,<0|1>` for p = 0..3, 1 when armed.
//!   The arming is not permanent (§7.1.1): a boot clears it; a deep sleep
//!   keeps it and brings an armed profile back from NVM, an unarmed one
//!   comes back factory (§7.1.2) `[model]` (`state.rs`).
//! - Profiles 0 to 3 `[lib]`; `[model]` requests only on profile 0, as the
//!   LEXI-R10 AT commands manual says (CME 3 on 1 to 3); one request at a
//!   time (CME 3 while one runs).
//! - `AT+UHTTPC=<p>,<cmd>,"<path>","<response file>"` for 0 HEAD, 1 GET,
//!   2 DELETE; `...,"<file>",<content type>[,"<user type>"]` for 3 PUT and
//!   4 POST file; `...,"<data>",<content type>[,"<user type>"]` for 5 POST
//!   data (at most 128 printable characters `[lib]`); content types `[lib]`
//!   0 form-urlencoded, 1 text/plain, 2 octet-stream, 3 multipart/form-data
//!   (op 4 wraps the file as u-blox's manuals show `[model]`), 4 json,
//!   5 xml, 6 the user type (required then). The path starts with `/`
//!   `[model]`; a body file that does not exist is CME 22 `[model]`.
//!   File system mode: `OK`, then `+UUHTTPCR: <p>,<cmd>,<1|0>`; on success
//!   the response file holds status line, headers, empty line and body
//!   (`HTTP/1.1 200 OK\r\n...`), replacing what it held; on failure it is
//!   removed `[model]`. A response past the file system's free space fails
//!   (3,10). A 4xx or 5xx answer is a success: the status is in the file.
//! - Direct link (op 10 = 1), ops 0 to 5: `CONNECT`, the response (status
//!   line, headers, empty line, body) raw, `\r\nDISCONNECT\r\n`, `OK`, then
//!   `+UUHTTPCR: <p>,<cmd>,<1|0>` (§7.1); the response file is ignored.
//!   Op 7 (direct link only, else CME 3):
//!   `AT+UHTTPC=<p>,7,"<path>",<content type>,["<user type>"],<len>` (§7.3
//!   writes `1,,11`) -> `CONNECT` -> exactly len bytes (1 to 1 MiB
//!   `[model]`, not echoed, any values) -> the response raw (`[model]`
//!   straight after the body, no line break before it) -> `DISCONNECT`,
//!   `OK`, `+UUHTTPCR: <p>,7,<1|0>`. `[model]` a failed request's stream is
//!   empty or cut where the failure came; host bytes after the body are
//!   dropped until `OK`; URCs wait until after `OK`; the module waits for
//!   the announced body without a time limit (a reboot ends the wait). The transfer keeps the
//!   module out of Sleep-2/Hibernate (§4).
//! - What fails before the network answers `OK` then `+UUHTTPCR: <p>,<cmd>,0`
//!   without `CONNECT` even in direct link `[model]`: not registered or
//!   mapped to a cid other than 1; a secure profile; no server set.
//! - Request on the wire `[model]`: `User-Agent: UBLOX-HttpClient V3.0`
//!   (§7.3), Basic authentication with op 4 = 1, the content type, the
//!   custom headers by index; one connection per request; the timeout
//!   (op 7) applies to the connect and to every wait for the server's
//!   bytes, scaled by `SimConfig::http_timeout_scale` (real time by
//!   default: the server is real).
//!
//! `AT+UHTTPER=<p>` -> `+UHTTPER: <p>,<class>,<code>`, the last request's
//! error (a success clears it); `[model]` except where marked:
//! | class,code | meaning |
//! |---|---|
//! | 0,0 | no error (§7.4) |
//! | 3,4 | the server name is not in the simulated DNS |
//! | 3,7 | no server set (ops 0 and 1 empty) |
//! | 3,10 | internal error `[lib]`: the response does not fit the file system |
//! | 3,11 | server connection error `[lib]`: refused, timed out (op 7), or cut before the response was whole |
//! | 3,99 | TLS not yet wired: a secure profile (op 6 = 1) until the security profile's TLS layer lands |
//! | 10,22 | PDP context not active `[lib]`: not registered, mapped to a cid other than 1, or the radio lost during the request |
//!
//! The files: `settings` (a profile and its limits, as NVM holds it),
//! `state` (the client, the codes above, sleep), `profile` (`+UHTTP`,
//! `+UHTTPNV`), `request` (`+UHTTPC`, `+UHTTPER`), `direct` (direct link's
//! data mode), `events` (what the job reports).

mod direct;
mod events;
mod profile;
mod request;
mod settings;
mod state;

pub use settings::{CustomHeader, HttpProfile, PROFILES};
pub(super) use state::Client;
