//! The embedded MQTT client (§6): `+UMQTT` (profile), `+UMQTTNV` (profile
//! in NVM), `+UMQTTC` (session) and `+UMQTTER` (last error).
//!
//! The session itself is a job (`crate::jobs::mqtt`, a real rumqttc client);
//! this file is the module's side: profile, session state, the inbox of
//! received messages, and the URCs.
//!
//! Wire forms:
//! - `AT+UMQTT?` lists ops 0, 2, 3, 4, 6, 7, 8, 9, 10, 11 in the format of
//!   §6.1.3's second read (`+UMQTT: 2,"185.215.193.15",1883`, no spaces: the
//!   spaces of the first table are typesetting), then 12 and 20 `[model]`.
//!   Op 4 shows the username only (§6.1.1). `AT+UMQTT=<op>` alone reads one op
//!   `[model]` (op 1 is readable only this way).
//! - Session URCs: `+UUMQTTC: 1,<1|0>` login, `+UUMQTTC: 0,1` logout,
//!   `+UUMQTTC: 2,<1|0>` publish (text and binary: the note's §6.5 shows
//!   `2,1` after a `+UMQTTC=9` publish, so op 9 completes as 2),
//!   `+UUMQTTC: 4,1,<granted qos>,"<filter>"` (`[model]` `4,0` when refused),
//!   `+UUMQTTC: 5,<1|0>`, `+UUMQTTC: 6,<unread>` per message received,
//!   `+UUMQTTC: 8,0` ping failure with the ping loop on, and
//!   `+UUMQTTC: 0,<reason>` when the session ends on its own: 100 keep-alive
//!   (no PINGRESP), 101 connection lost (also radio loss, §6.7), 102 protocol
//!   violation [lib].
//! - `AT+UMQTTC=6,1[,<hex>]` -> `+UMQTTC: 6,<qos>,<topic len + msg len>,
//!   <topic len>,"<topic>",<msg len>,"<msg>"` (§6.3, §6.4): the message bytes
//!   raw (quotes, CR, NUL unescaped) or, hex mode, as upper-case hex text;
//!   `<msg len>` is the byte count either way.
//! - `AT+UMQTTC=9,<qos>,<retain>,"<topic>",<len>` -> `\r\n>` `[model]` ->
//!   exactly `len` bytes (any values, not echoed `[model]`) -> `OK`.
//! - Secure MQTT (§6.9): `AT+UMQTT=11,1,<security profile 0-4>` (`11,0`
//!   off) is part of the profile like any op (read back by `AT+UMQTT?` and
//!   `AT+UMQTT=11`, stored by `+UMQTTNV=2`). The login then runs a real TLS
//!   handshake with what the security profile holds (`module/security`,
//!   `jobs/tls`) before CONNECT: `+UUSECPRF: <p>,13,0,<status>` when the
//!   profile has resumption on, then `+UUMQTTC: 1,1`; a failed handshake
//!   `+UUMQTTC: 1,0` with `+UMQTTER` 13,70-74. `[model]` the port is not
//!   switched to 8883: the profile's port is used as set (§6.9 sets it).
//!
//! `+UMQTTER: <class>,<code>` `[model]` except 13,50 (§6.8):
//! | class,code | meaning |
//! |---|---|
//! | 0,0 | no error since boot |
//! | 13,50 | PDP context not active (not registered, or mapped to a cid other than 1) (§6.8) |
//! | 13,70-74 | a secure login's TLS handshake failed (the table in `module/security`) |
//! | 33,1 | login timeout: no CONNACK in time (33 is worth a retry [lib]) |
//! | 34,1 | radio service lost during the session (34 is worth a retry [lib]) |
//! | 35,1 | TCP connect to the broker failed (refused, unreachable) |
//! | 35,2 | the server name did not resolve, or no server is set |
//! | 36,<rc> | the broker refused the login with CONNACK return code rc |
//! | 37,<reason> | the session ended: reason as in `+UUMQTTC: 0,<reason>` |
//! | 38,3 | operation not allowed now (not connected, login in progress) |
//! | 40,1 | the client could not queue the request |
//!
//! The files: `state` (the client's state and the codes above), `profile`
//! (`+UMQTT`, `+UMQTTNV`: §6.1, §6.2), `session` (`+UMQTTC`, `+UMQTTER`:
//! §6.3 to §6.8), `events` (what the session job reports, and a session
//! that ends on its own), `params` (the parameter forms the commands share,
//! hex payloads).

mod events;
mod params;
mod profile;
mod session;
mod state;

pub use params::decode_hex;
pub(super) use state::{Client, State};
