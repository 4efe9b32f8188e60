//! The module's non-volatile memory: what survives a reboot or a restart of
//! the simulator, as one versioned JSON file in `SimConfig::nvm_dir`.
//!
//! Growth: later issues add profiles and certificates as new fields.
//! `#[serde(default)]` on every struct lets an old file load into a newer
//! simulator (missing fields take their factory value) and unknown fields are
//! ignored, so a newer file still loads into an older simulator.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::SimError;

/// Bumped when a field changes meaning (not when one is added).
pub const NVM_VERSION: u32 = 1;
/// The file inside `nvm_dir`.
pub const FILE_NAME: &str = "lexi-sim-nvm.json";

/// `[model]` the MNO profiles `+UMNOPROF` accepts.
pub const MNO_PROFILES: &[u16] = &[
    0, 1, 2, 3, 4, 5, 6, 19, 21, 28, 31, 39, 90, 100, 101, 102, 103, 104, 201, 206, 210, 211,
];
/// `[model]` the factory MNO profile (90: global).
pub const FACTORY_MNO_PROFILE: u16 = 90;
/// Context ids `+CGDCONT` accepts (§2.1: up to 15 defined).
pub const CIDS: std::ops::RangeInclusive<u8> = 1..=15;

/// Everything the module keeps across power cycles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NvmImage {
    pub version: u32,
    /// Stored by `+UMNOPROF`, in effect from the next boot (§2.3).
    pub mno_profile: u16,
    /// `+CGDCONT` definitions by cid. `[model]` stored in NVM.
    pub contexts: BTreeMap<u8, PdpContext>,
    /// `+UDCONF=19`, in effect from the next boot (§2.3.1).
    pub default_pdp: DefaultPdp,
    /// The MQTT client profile stored by `+UMQTTNV=2` (§6.1.3); `None`: never
    /// stored (`+UMQTTNV=1` then loads the factory profile).
    pub mqtt: Option<MqttProfile>,
    /// `+UUSBCONF` (`[lib]` 99 = USB off). `[model]` kept in NVM like u-blox's
    /// USB profile settings, and in effect at once; factory 0.
    pub usb_conf: u8,
    /// `+CTZU`: take the network's time. `[model]` kept in NVM, factory
    /// off (see `module/clock.rs`).
    pub ctzu: bool,
    /// HTTP profiles stored by `+UHTTPNV=<p>,2` (§7.1.1), by profile id.
    pub http: BTreeMap<u8, crate::module::HttpProfile>,
    /// The module's file system (`module/files`).
    pub files: crate::module::FileStore,
}

/// `[model]` the `+UUSBCONF` values accepted (99: USB off).
pub const USB_CONF: std::ops::RangeInclusive<u8> = 0..=99;

impl Default for NvmImage {
    /// Factory state: `[model]` profile 90, context 1 defined as `IPV4V6` with
    /// an empty APN, default PDP `1,0`.
    fn default() -> Self {
        NvmImage {
            version: NVM_VERSION,
            mno_profile: FACTORY_MNO_PROFILE,
            contexts: BTreeMap::from([(
                1,
                PdpContext {
                    pdp_type: PdpType::Ipv4v6,
                    apn: String::new(),
                },
            )]),
            default_pdp: DefaultPdp::default(),
            mqtt: None,
            usb_conf: 0,
            ctzu: false,
            http: BTreeMap::new(),
            files: crate::module::FileStore::default(),
        }
    }
}

impl NvmImage {
    /// Drops what a hand-edited or foreign file may hold that the module
    /// could never have stored, so the rest of the simulator can trust it.
    fn sanitize(&mut self) {
        if !MNO_PROFILES.contains(&self.mno_profile) {
            tracing::warn!(
                profile = self.mno_profile,
                "NVM holds an unknown MNO profile; using the factory one"
            );
            self.mno_profile = FACTORY_MNO_PROFILE;
        }
        let before = self.contexts.len();
        self.contexts.retain(|cid, ctx| {
            CIDS.contains(cid)
                && ctx
                    .apn
                    .bytes()
                    .all(|b| (0x20..0x7F).contains(&b) && b != b'"')
        });
        if self.contexts.len() != before {
            tracing::warn!("NVM held PDP contexts the module cannot have; dropped them");
        }
        if !DefaultPdp::valid(self.default_pdp.cid, self.default_pdp.ip_type) {
            tracing::warn!("NVM holds an invalid +UDCONF=19 setting; using the factory one");
            self.default_pdp = DefaultPdp::default();
        }
        if self.mqtt.as_ref().is_some_and(|p| !p.valid()) {
            tracing::warn!("NVM holds an MQTT profile the module cannot have; dropped it");
            self.mqtt = None;
        }
        if !USB_CONF.contains(&self.usb_conf) {
            tracing::warn!(
                usb_conf = self.usb_conf,
                "NVM holds a +UUSBCONF value the module cannot have; using the factory one"
            );
            self.usb_conf = 0;
        }
        let profiles = self.http.len();
        self.http
            .retain(|p, profile| *p < crate::module::HTTP_PROFILES && profile.valid());
        if self.http.len() != profiles {
            tracing::warn!("NVM held HTTP profiles the module cannot have; dropped them");
        }
        self.files.sanitize();
        self.version = NVM_VERSION;
    }
}

/// The `+UMQTT` client profile (§6.1). Volatile in the module until stored
/// with `+UMQTTNV=2`; the same type is what NVM holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MqttProfile {
    /// Op 0; `None`: the IMEI (factory, §6.1.1).
    pub client_id: Option<String>,
    /// Op 1. `[model]` stored and read back, not used (the OS picks the port).
    pub local_port: u16,
    /// Op 2: a literal IP address; `[model]` setting it clears `server_name`.
    pub server_ip: String,
    /// Op 3: a name for DNS; `[model]` setting it clears `server_ip`.
    pub server_name: String,
    /// `[model]` ops 2 and 3 share one port (factory 1883, §6.1.1).
    pub port: u16,
    /// Op 4.
    pub username: String,
    pub password: String,
    /// Op 6.
    pub will_qos: u8,
    /// Op 7.
    pub will_retain: bool,
    /// Op 8.
    pub will_topic: String,
    /// Op 9: the message as given; `will_hex` says it is hex text.
    pub will_message: String,
    pub will_hex: bool,
    /// Op 10, seconds.
    pub keep_alive: u16,
    /// Op 11: `Some(security profile)` when secure.
    pub secure: Option<u8>,
    /// Op 12. `[model]` factory 1.
    pub clean_session: bool,
    /// Op 20: `<cid>,<ip type>`; factory `1,0` (§6.1.5).
    pub pdp_cid: u8,
    pub pdp_ip_type: u8,
}

impl Default for MqttProfile {
    fn default() -> Self {
        MqttProfile {
            client_id: None,
            local_port: 0,
            server_ip: String::new(),
            server_name: String::new(),
            port: 1883,
            username: String::new(),
            password: String::new(),
            will_qos: 0,
            will_retain: false,
            will_topic: String::new(),
            will_message: String::new(),
            will_hex: false,
            keep_alive: 0,
            secure: None,
            clean_session: true,
            pdp_cid: 1,
            pdp_ip_type: 0,
        }
    }
}

impl MqttProfile {
    /// What `+UMQTT` could have set: quotable strings, values in range.
    pub fn valid(&self) -> bool {
        let quotable = |t: &str| t.bytes().all(|b| (0x20..0x7F).contains(&b) && b != b'"');
        let strings = [
            self.client_id.as_deref().unwrap_or(""),
            &self.server_ip,
            &self.server_name,
            &self.username,
            &self.password,
            &self.will_topic,
            &self.will_message,
        ];
        strings.iter().all(|t| quotable(t))
            && (self.server_ip.is_empty() || self.server_ip.parse::<std::net::IpAddr>().is_ok())
            && self.port != 0
            && self.will_qos <= 2
            && DefaultPdp::valid(self.pdp_cid, self.pdp_ip_type)
            && (!self.will_hex || crate::module::decode_hex(&self.will_message).is_some())
    }
}

/// One `+CGDCONT` definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PdpContext {
    pub pdp_type: PdpType,
    pub apn: String,
}

impl Default for PdpContext {
    fn default() -> Self {
        PdpContext {
            pdp_type: PdpType::Ipv4v6,
            apn: String::new(),
        }
    }
}

/// The `<PDP_type>` of `+CGDCONT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PdpType {
    #[serde(rename = "IP")]
    Ip,
    #[serde(rename = "IPV6")]
    Ipv6,
    #[serde(rename = "IPV4V6")]
    Ipv4v6,
}

impl PdpType {
    pub fn as_str(self) -> &'static str {
        match self {
            PdpType::Ip => "IP",
            PdpType::Ipv6 => "IPV6",
            PdpType::Ipv4v6 => "IPV4V6",
        }
    }

    /// `[model]` accepted in any letter case.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_uppercase().as_str() {
            "IP" => Some(PdpType::Ip),
            "IPV6" => Some(PdpType::Ipv6),
            "IPV4V6" => Some(PdpType::Ipv4v6),
            _ => None,
        }
    }
}

/// `+UDCONF=19,<cid>,<ip type>`: the context and IP type internal clients use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DefaultPdp {
    pub cid: u8,
    /// 0 IPv4, 1 IPv6 (§2.3.1, §6.1.5).
    pub ip_type: u8,
}

impl Default for DefaultPdp {
    /// `[model]` factory `1,0`.
    fn default() -> Self {
        DefaultPdp { cid: 1, ip_type: 0 }
    }
}

impl DefaultPdp {
    /// `[model]` cid 1..=15, ip type 0 (IPv4) or 1 (IPv6), the two the note names.
    pub fn valid(cid: u8, ip_type: u8) -> bool {
        CIDS.contains(&cid) && ip_type <= 1
    }
}

/// The NVM file on disk.
#[derive(Debug, Clone)]
pub struct NvmStore {
    dir: PathBuf,
}

impl NvmStore {
    /// Creates `dir` if needed.
    pub fn open(dir: &Path) -> Result<Self, SimError> {
        fs::create_dir_all(dir).map_err(|source| SimError::NvmDir {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(NvmStore {
            dir: dir.to_path_buf(),
        })
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// The stored image, or factory defaults when there is none or it cannot
    /// be read (with a warning: a real module with corrupt NVM would also come
    /// up in some default state rather than not at all).
    pub fn load(&self) -> NvmImage {
        let path = self.path();
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return NvmImage::default(),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read NVM; starting from factory defaults");
                return NvmImage::default();
            }
        };
        match serde_json::from_slice::<NvmImage>(&text) {
            Ok(mut image) => {
                if image.version > NVM_VERSION {
                    tracing::warn!(
                        version = image.version,
                        "NVM file is from a newer simulator; reading the fields this one knows"
                    );
                }
                image.sanitize();
                image
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "corrupt NVM file; starting from factory defaults");
                NvmImage::default()
            }
        }
    }

    /// Writes `image` atomically: a temporary file, fsync, rename, fsync of the
    /// directory. A crash leaves either the old or the new file, never half.
    pub fn save(&self, image: &NvmImage) -> io::Result<()> {
        let text = serde_json::to_vec_pretty(image).map_err(io::Error::other)?;
        let tmp = self.dir.join(format!(".{FILE_NAME}.tmp"));
        {
            let mut file = File::create(&tmp)?;
            file.write_all(&text)?;
            file.sync_all()?;
        }
        fs::rename(&tmp, self.path())?;
        File::open(&self.dir)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_factory() {
        let dir = tempfile::tempdir().unwrap();
        let store = NvmStore::open(dir.path()).unwrap();
        assert_eq!(store.load(), NvmImage::default());
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let store = NvmStore::open(&dir.path().join("nested")).unwrap();
        let mut image = NvmImage {
            mno_profile: 100,
            ..NvmImage::default()
        };
        image.contexts.insert(
            3,
            PdpContext {
                pdp_type: PdpType::Ip,
                apn: "iot.example".into(),
            },
        );
        image.default_pdp = DefaultPdp { cid: 3, ip_type: 1 };
        store.save(&image).unwrap();
        assert_eq!(store.load(), image);
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(store.dir.clone())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
    }

    #[test]
    fn corrupt_files_give_factory_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let store = NvmStore::open(dir.path()).unwrap();
        for garbage in [
            &b"{not json"[..],
            b"",
            b"\xff\xfe\x00",
            b"[1,2,3]",
            b"{\"mno_profile\": \"x\"}",
        ] {
            fs::write(store.path(), garbage).unwrap();
            assert_eq!(store.load(), NvmImage::default(), "{garbage:?}");
        }
    }

    #[test]
    fn old_files_load_with_defaults_for_missing_fields_and_unknown_ones_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = NvmStore::open(dir.path()).unwrap();
        fs::write(
            store.path(),
            br#"{"version":1,"mno_profile":100,"mqtt":{"future":true}}"#,
        )
        .unwrap();
        let image = store.load();
        assert_eq!(image.mno_profile, 100);
        assert_eq!(image.contexts, NvmImage::default().contexts);
    }

    #[test]
    fn impossible_values_are_sanitized() {
        let dir = tempfile::tempdir().unwrap();
        let store = NvmStore::open(dir.path()).unwrap();
        fs::write(
            store.path(),
            br#"{"version":1,"mno_profile":7777,"contexts":{"99":{"pdp_type":"IP","apn":"x"},"2":{"pdp_type":"IP","apn":"ok"}},"default_pdp":{"cid":0,"ip_type":9},"usb_conf":200}"#,
        )
        .unwrap();
        let image = store.load();
        assert_eq!(image.mno_profile, FACTORY_MNO_PROFILE);
        assert_eq!(image.contexts.keys().copied().collect::<Vec<_>>(), vec![2]);
        assert_eq!(image.default_pdp, DefaultPdp::default());
        assert_eq!(image.usb_conf, 0);
    }
}
