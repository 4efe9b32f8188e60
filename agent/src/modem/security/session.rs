//! TLS session data kept across reboots (§3.4): the module's security
//! profile, and with it the session data of the last handshake, is
//! volatile; the agent reads the data after a handshake that left some
//! (`+UUSECPRF: <p>,13,0,2`) and sets it back before the next connection,
//! so a gateway that reboots or hibernates between windows pays one full
//! handshake, not one per window.
//!
//! Kept in the store's `modem` tree under `tls-session/<key>`, where the key
//! is a digest of everything the session is valid for: the security
//! profile's contents ([`SecurityProfile::digest`]: CA, client
//! certificate, versions, SNI, host name check, resumption mode) and the
//! server and port. Data saved for another key is never offered; it is
//! replaced by the next handshake's.
//!
//! Record (version 1): `u8` version = 1, `u64` BE the Unix seconds it was
//! saved at (0: the time was not known, as on a gateway without an RTC
//! before the network gave it; such data has no age), then the base64 text
//! as the module handed it out. Written (and
//! flushed) only when the data changed; dropped when a handshake with it
//! failed, when it is older than the maximum age, or when it cannot be
//! decoded.

use super::commands::SessionData;
use super::provision::SecurityProfile;
use crate::modem::digest::Fnv1a;
use crate::store::{Store, StoreError, TreeId, WriteSet};

const RECORD_VERSION: u8 = 1;
const KEY_PREFIX: &[u8] = b"tls-session/";
/// The saved-at of data saved while the time was not known.
const UNKNOWN_TIME: u64 = 0;

/// Servers cap a ticket's lifetime at 7 days (RFC 8446 §4.6.1); older data
/// is not worth a failed attempt.
pub const DEFAULT_MAX_AGE_SECS: u64 = 7 * 86_400;

/// The session data for one server under one security profile.
#[derive(Debug)]
pub struct SessionCache<'a> {
    store: &'a Store,
    key: Vec<u8>,
    max_age_secs: u64,
}

/// What [`SessionCache::load`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    None,
    /// Usable data.
    Fresh(SessionData),
    /// Data older than the maximum age (now dropped).
    Expired,
}

impl<'a> SessionCache<'a> {
    pub fn new(store: &'a Store, profile: &SecurityProfile, server: &str, port: u16) -> Self {
        let mut hash = Fnv1a::new();
        hash.write(&profile.digest().to_be_bytes());
        hash.write(server.as_bytes());
        hash.write(b":");
        hash.write(port.to_string().as_bytes());
        let mut key = KEY_PREFIX.to_vec();
        key.extend_from_slice(crate::values::hex::encode(&hash.finish().to_be_bytes()).as_bytes());
        SessionCache {
            store,
            key,
            max_age_secs: DEFAULT_MAX_AGE_SECS,
        }
    }

    pub fn with_max_age_secs(mut self, secs: u64) -> Self {
        self.max_age_secs = secs;
        self
    }

    /// The data to offer, if there is fresh data; expired or undecodable
    /// data is dropped. `now_secs` is `None` while the time is not known:
    /// the age is then not judged (a ticket the server no longer takes
    /// costs a full handshake, not a failure).
    pub fn load(&self, now_secs: Option<u64>) -> Result<Stored, StoreError> {
        let Some(raw) = self.store.get(TreeId::Modem, &self.key)? else {
            return Ok(Stored::None);
        };
        let Some((saved_at, data)) = decode(&raw) else {
            self.forget()?;
            return Ok(Stored::None);
        };
        let too_old = |now: u64| now.saturating_sub(saved_at) > self.max_age_secs || saved_at > now;
        if saved_at != UNKNOWN_TIME && now_secs.is_some_and(too_old) {
            self.forget()?;
            return Ok(Stored::Expired);
        }
        Ok(Stored::Fresh(data))
    }

    /// Keeps `data`; returns whether it was written (it differs from what
    /// is kept). The age counts from the last write.
    pub fn save(&self, data: &SessionData, now_secs: Option<u64>) -> Result<bool, StoreError> {
        if let Some(raw) = self.store.get(TreeId::Modem, &self.key)? {
            if decode(&raw).is_some_and(|(_, kept)| kept == *data) {
                return Ok(false);
            }
        }
        let mut record = Vec::with_capacity(9 + data.base64.len());
        record.push(RECORD_VERSION);
        record.extend_from_slice(&now_secs.unwrap_or(UNKNOWN_TIME).to_be_bytes());
        record.extend_from_slice(data.base64.as_bytes());
        let mut writes = WriteSet::new();
        writes.insert(TreeId::Modem, self.key.clone(), record);
        self.store.commit(&writes)?;
        self.store.flush()?;
        Ok(true)
    }

    /// Drops the data (a handshake with it failed).
    pub fn forget(&self) -> Result<(), StoreError> {
        if self.store.get(TreeId::Modem, &self.key)?.is_none() {
            return Ok(());
        }
        let mut writes = WriteSet::new();
        writes.remove(TreeId::Modem, self.key.clone());
        self.store.commit(&writes)?;
        self.store.flush()
    }
}

fn decode(raw: &[u8]) -> Option<(u64, SessionData)> {
    let (&version, rest) = raw.split_first()?;
    if version != RECORD_VERSION || rest.len() < 8 {
        return None;
    }
    let (at, text) = rest.split_at(8);
    let saved_at = u64::from_be_bytes(at.try_into().ok()?);
    let base64 = std::str::from_utf8(text).ok()?;
    if base64.is_empty()
        || !base64
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
    {
        return None;
    }
    Some((
        saved_at,
        SessionData {
            base64: base64.to_owned(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modem::security::{MinTlsVersion, Resumption, Validation};
    use crate::store::OpenMode;

    fn profile(sni: &str) -> SecurityProfile {
        SecurityProfile {
            id: 0,
            validation: Validation::ChainAndHostname,
            min_version: MinTlsVersion::Tls1_2,
            ca_names: vec!["ea-ca-1".into()],
            client_cert: None,
            client_key: None,
            hostname: Some(sni.into()),
            sni: Some(sni.into()),
            resumption: Resumption::Ticket,
        }
    }

    fn data(text: &str) -> SessionData {
        SessionData {
            base64: text.into(),
        }
    }

    #[test]
    fn session_data_survives_a_reopen_and_is_written_only_when_it_changed() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), OpenMode::Agent, |_| Ok(())).unwrap();
            let cache =
                SessionCache::new(&store, &profile("broker.example"), "broker.example", 8883);
            assert_eq!(cache.load(Some(1_000)).unwrap(), Stored::None);
            assert!(cache.save(&data("QUJDRA=="), Some(1_000)).unwrap());
            let syncs = store.syncs();
            assert!(!cache.save(&data("QUJDRA=="), Some(1_010)).unwrap());
            assert_eq!(store.syncs(), syncs, "an unchanged save flushed");
            assert!(cache.save(&data("RUZHSA=="), Some(1_020)).unwrap());
        }
        let store = Store::open(dir.path(), OpenMode::Agent, |_| Ok(())).unwrap();
        let cache = SessionCache::new(&store, &profile("broker.example"), "broker.example", 8883);
        assert_eq!(
            cache.load(Some(1_030)).unwrap(),
            Stored::Fresh(data("RUZHSA=="))
        );
    }

    #[test]
    fn data_is_not_offered_to_another_server_port_or_profile() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), OpenMode::Agent, |_| Ok(())).unwrap();
        SessionCache::new(&store, &profile("a.example"), "a.example", 8883)
            .save(&data("QUJDRA=="), Some(1_000))
            .unwrap();
        for other in [
            SessionCache::new(&store, &profile("a.example"), "a.example", 8884),
            SessionCache::new(&store, &profile("a.example"), "b.example", 8883),
            SessionCache::new(&store, &profile("b.example"), "a.example", 8883),
        ] {
            assert_eq!(other.load(Some(1_000)).unwrap(), Stored::None);
        }
    }

    #[test]
    fn old_failed_or_damaged_data_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), OpenMode::Agent, |_| Ok(())).unwrap();
        let cache = SessionCache::new(&store, &profile("a.example"), "a.example", 8883)
            .with_max_age_secs(60);
        cache.save(&data("QUJDRA=="), Some(1_000)).unwrap();
        assert_eq!(
            cache.load(Some(1_060)).unwrap(),
            Stored::Fresh(data("QUJDRA=="))
        );
        assert_eq!(cache.load(Some(1_061)).unwrap(), Stored::Expired);
        assert_eq!(cache.load(Some(1_061)).unwrap(), Stored::None);

        cache.save(&data("QUJDRA=="), Some(2_000)).unwrap();
        cache.forget().unwrap();
        assert_eq!(cache.load(Some(2_000)).unwrap(), Stored::None);

        let mut writes = WriteSet::new();
        writes.insert(TreeId::Modem, cache.key.clone(), vec![9, 9, 9]);
        store.commit(&writes).unwrap();
        assert_eq!(cache.load(Some(2_000)).unwrap(), Stored::None);
        assert_eq!(store.get(TreeId::Modem, &cache.key).unwrap(), None);
    }

    #[test]
    fn without_the_time_data_is_kept_and_offered_without_an_age() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), OpenMode::Agent, |_| Ok(())).unwrap();
        let cache = SessionCache::new(&store, &profile("a.example"), "a.example", 8883)
            .with_max_age_secs(60);
        // A gateway at 1970 before the network time: saved with no age...
        cache.save(&data("QUJDRA=="), None).unwrap();
        assert_eq!(cache.load(None).unwrap(), Stored::Fresh(data("QUJDRA==")));
        // ...and offered once the time is known, whatever it is.
        assert_eq!(
            cache.load(Some(1_800_000_000)).unwrap(),
            Stored::Fresh(data("QUJDRA=="))
        );
        // Data with an age is not judged while the time is unknown.
        cache.save(&data("RUZHSA=="), Some(1_000)).unwrap();
        assert_eq!(cache.load(None).unwrap(), Stored::Fresh(data("RUZHSA==")));
        assert_eq!(cache.load(Some(2_000)).unwrap(), Stored::Expired);
    }
}
