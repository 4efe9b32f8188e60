//! One HTTP profile's settings (`+UHTTP`, §7.1), the type NVM also holds
//! (`+UHTTPNV=<p>,2`), with the factory values and the §7.5 port rule.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::nvm::DefaultPdp;

/// `[lib]` ubxlib's HTTP profiles: 0 to 3 (the note's §7.4 reads profile 1).
pub const PROFILES: u8 = 4;
/// `[lib]` custom headers (op 9) have the indexes 0 to 4.
pub const HEADER_SLOTS: u8 = 5;
/// `[model]` op 7's range in seconds (`[lib]` 30 is the minimum) and its
/// factory value.
pub const TIMEOUT_S: std::ops::RangeInclusive<u16> = 30..=180;
pub const FACTORY_TIMEOUT_S: u16 = 180;
/// `[model]` the longest server name (op 1), username or password
/// (ops 2, 3), and op 9's whole `"<index>:<name>:<value>"` text.
pub const MAX_SERVER_NAME: usize = 128;
pub const MAX_CREDENTIAL: usize = 64;
pub const MAX_HEADER_TEXT: usize = 256;
/// Op 5's factory port and the §7.5 pair op 6 switches between.
pub const HTTP_PORT: u16 = 80;
pub const HTTPS_PORT: u16 = 443;

/// One custom request header (op 9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomHeader {
    pub name: String,
    pub value: String,
}

/// The settings of one HTTP profile. Volatile in the module; NVM keeps a
/// copy once stored (§7.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpProfile {
    /// Op 0; setting it clears `server_name` and the other way round.
    pub server_ip: String,
    /// Op 1.
    pub server_name: String,
    /// Op 2.
    pub username: String,
    /// Op 3.
    pub password: String,
    /// Op 4: 0 none, 1 basic.
    pub auth: u8,
    /// Op 5.
    pub port: u16,
    /// Op 6: `Some(security profile)` when secure.
    pub secure: Option<u8>,
    /// Op 7, seconds.
    pub timeout_s: u16,
    /// Op 9, by index.
    pub headers: BTreeMap<u8, CustomHeader>,
    /// Op 10: 0 file system, 1 direct link.
    pub io_mode: u8,
    /// Op 20: `<cid>,<ip type>`.
    pub pdp_cid: u8,
    pub pdp_ip_type: u8,
}

impl Default for HttpProfile {
    /// The factory profile: no server, port 80, plain, 180 s, file system,
    /// context 1 with IPv4 `[model]` (the note's §7.1 comments: the server
    /// name's factory value is empty, cid 1 unless mapped).
    fn default() -> Self {
        HttpProfile {
            server_ip: String::new(),
            server_name: String::new(),
            username: String::new(),
            password: String::new(),
            auth: 0,
            port: HTTP_PORT,
            secure: None,
            timeout_s: FACTORY_TIMEOUT_S,
            headers: BTreeMap::new(),
            io_mode: 0,
            pdp_cid: 1,
            pdp_ip_type: 0,
        }
    }
}

impl HttpProfile {
    /// Op 6 with the §7.5 rule `[model]` read literally: enabling security
    /// on port 80 moves to 443, disabling it on 443 moves back to 80; any
    /// other port (set by hand with op 5) stays.
    pub fn set_secure(&mut self, secure: Option<u8>) {
        match (secure.is_some(), self.port) {
            (true, HTTP_PORT) => self.port = HTTPS_PORT,
            (false, HTTPS_PORT) => self.port = HTTP_PORT,
            _ => {}
        }
        self.secure = secure;
    }

    /// The server the requests go to: the address if one is set, else the
    /// name; `None` when neither is.
    pub fn server(&self) -> Option<&str> {
        [&self.server_ip, &self.server_name]
            .into_iter()
            .find(|s| !s.is_empty())
            .map(String::as_str)
    }

    /// What `+UHTTP` could have set (checked on what NVM holds).
    pub fn valid(&self) -> bool {
        let texts = [
            (&self.server_ip, MAX_SERVER_NAME),
            (&self.server_name, MAX_SERVER_NAME),
            (&self.username, MAX_CREDENTIAL),
            (&self.password, MAX_CREDENTIAL),
        ];
        texts
            .iter()
            .all(|(text, max)| quotable(text) && text.len() <= *max)
            && (self.server_ip.is_empty() || self.server_ip.parse::<IpAddr>().is_ok())
            && self.auth <= 1
            && self.port != 0
            && self.secure.is_none_or(|p| p <= 4)
            && TIMEOUT_S.contains(&self.timeout_s)
            && self.headers.iter().all(|(i, h)| {
                *i < HEADER_SLOTS && valid_header_name(&h.name) && valid_header_value(&h.value)
            })
            && self.io_mode <= 1
            && DefaultPdp::valid(self.pdp_cid, self.pdp_ip_type)
    }
}

/// Printable ASCII without `"`: what a quoted parameter can carry.
pub fn quotable(text: &str) -> bool {
    text.bytes().all(|b| (0x20..0x7F).contains(&b) && b != b'"')
}

/// `[model]` an RFC 9110 token.
pub fn valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `[model]` printable ASCII without `"`, no leading or trailing blank.
pub fn valid_header_value(value: &str) -> bool {
    quotable(value) && value.trim() == value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_switches_only_the_standard_ports() {
        let mut p = HttpProfile::default();
        p.set_secure(Some(2));
        assert_eq!((p.port, p.secure), (443, Some(2)));
        p.set_secure(None);
        assert_eq!((p.port, p.secure), (80, None));
        p.port = 9000;
        p.set_secure(Some(0));
        assert_eq!(p.port, 9000);
        p.set_secure(None);
        assert_eq!(p.port, 9000);
    }

    #[test]
    fn the_factory_profile_is_valid_and_an_impossible_one_is_not() {
        assert!(HttpProfile::default().valid());
        let bad = HttpProfile {
            server_ip: "not an address".into(),
            ..HttpProfile::default()
        };
        assert!(!bad.valid());
        let mut bad_header = HttpProfile::default();
        bad_header.headers.insert(
            7,
            CustomHeader {
                name: "X".into(),
                value: "y".into(),
            },
        );
        assert!(!bad_header.valid());
    }
}
