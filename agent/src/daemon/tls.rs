//! TLS at run time (application note §3, §6.9, §7.5): what the module must
//! hold before a secure connection, and the session data that makes the
//! next handshake a resumed one. One shape for both transports: a
//! "login" is an MQTT login, or one HTTPS request (each request is a
//! connection of its own); the transport tells what its handshake reported
//! (the resumption status of `+UUSECPRF`) and whether a failure was TLS's.
//!
//! - At start, under the start's awake guard: the credentials checked by MD5
//!   and imported only when missing or changed, the security profile
//!   applied, and, once the transport's profile names it, the agent's
//!   credentials the config no longer names removed.
//! - After every reboot and deep sleep (the profile is volatile): the
//!   profile applied again; the module then holds no session data.
//! - Before a login: the session data kept in the store for this profile,
//!   server and port set in the module, unless the module already holds
//!   data of its own (a handshake earlier in this boot left it).
//! - After a login: counted as resumed when session data was offered, else
//!   as a full handshake; when the module reports data (`+UUSECPRF:
//!   <p>,13,0,2`), it is read and kept, written only when it changed.
//! - A TLS failure with data offered drops the data (store and module), so
//!   the next attempt is a full handshake.
//!
//! `[model]` The module does not say whether a handshake resumed: a login
//! that offered data counts as resumed, though a server may have answered
//! it with a full handshake (the server's own count is the one to trust;
//! the tests check it).

use tracing::{debug, info, warn};

use crate::config::{TlsConfig, TlsConfigError, TlsTarget, Verify};
use crate::modem::at::AtClient;
use crate::modem::security::{
    apply_profile, ensure_credentials, remove_stale_credentials, CredentialsReport,
    ReadSessionData, SecurityError, SecuritySetting, SessionCache, SetSecurityProfile, Stored,
    TlsSettings,
};
use crate::store::{Store, StoreError};

/// The status `+UUSECPRF: <p>,13,0,<status>` reports when the handshake
/// left session data (§3.4).
const SESSION_DATA_HELD: u8 = 2;

/// TLS for the uplink: the settings, what the module holds, counts.
#[derive(Debug)]
pub(super) struct Tls {
    settings: TlsSettings,
    /// `MQTT` or `HTTP`, for the messages.
    transport: &'static str,
    /// The broker, for the session data's key and the messages.
    server: String,
    port: u16,
    /// For the messages: which files a failure concerns.
    ca_file: Option<String>,
    cert_file: Option<String>,
    /// The module holds session data for the profile since it was last
    /// applied: set by the agent, or left by a handshake.
    module_holds_data: bool,
    /// The login in progress offered session data.
    offered: bool,
    /// The session data of the current session was read and kept.
    kept_this_session: bool,
    full_handshakes: u64,
    resumed: u64,
}

/// Handshakes since start, for the heartbeat.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct HandshakeCounts {
    pub full: u64,
    pub resumed: u64,
}

impl Tls {
    /// The TLS of `target.table` (`[uplink.mqtt.tls]`, `[uplink.http.tls]`)
    /// for `host:port`; reads and checks the files (again: they may have
    /// changed since the config was loaded).
    pub fn from_config(
        tls: &TlsConfig,
        target: TlsTarget<'_>,
        port: u16,
    ) -> Result<Tls, TlsConfigError> {
        let settings = tls.settings(target)?;
        if tls.verify == Verify::None {
            warn!(
                "{}.verify = \"none\": the server is not authenticated; anyone on the path \
                 can pose as it",
                target.table
            );
        }
        let shown = |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string());
        Ok(Tls {
            settings,
            transport: if target.table.contains("http") {
                "HTTP"
            } else {
                "MQTT"
            },
            server: target.host.to_owned(),
            port,
            ca_file: shown(&tls.ca_file),
            cert_file: shown(&tls.cert_file),
            module_holds_data: false,
            offered: false,
            kept_this_session: false,
            full_handshakes: 0,
            resumed: 0,
        })
    }

    pub fn counts(&self) -> HandshakeCounts {
        HandshakeCounts {
            full: self.full_handshakes,
            resumed: self.resumed,
        }
    }

    fn cache<'s>(&self, store: &'s Store) -> SessionCache<'s> {
        SessionCache::new(store, &self.settings.profile, &self.server, self.port)
    }

    /// At start: the credentials in the module's NVM, the profile applied.
    pub async fn provision(&mut self, at: &AtClient) -> Result<CredentialsReport, SecurityError> {
        let report = ensure_credentials(at, &self.settings.credentials).await?;
        self.restore(at).await?;
        info!(
            imported = report.imported,
            kept = report.kept,
            profile = self.settings.profile.id,
            "TLS credentials and security profile ready"
        );
        Ok(report)
    }

    /// Once the transport's profile uses this security profile: the agent's
    /// credentials the config no longer names go. A failure leaves them
    /// (they cost NVM, not function) and is logged.
    pub async fn remove_stale(&self, at: &AtClient) {
        match remove_stale_credentials(at, &self.settings.credentials).await {
            Ok(0) => {}
            Ok(removed) => info!(removed, "old TLS credentials removed from the module"),
            Err(e) => {
                warn!(error = %e, "old TLS credentials could not be removed; trying at the next start")
            }
        }
    }

    /// The module forgot the profile (a reboot, deep sleep): apply it again.
    pub async fn restore(&mut self, at: &AtClient) -> Result<(), SecurityError> {
        apply_profile(at, &self.settings.profile).await?;
        self.module_holds_data = false;
        Ok(())
    }

    /// Before a login: offer the session data kept for this server, unless
    /// the module holds data of its own. Nothing here fails the login: a
    /// failure costs a full handshake and is logged.
    pub async fn before_login(&mut self, at: &AtClient, store: &Store, now_secs: Option<u64>) {
        self.kept_this_session = false;
        let profile = &self.settings.profile;
        if !profile.resumption.is_on() || self.module_holds_data {
            self.offered = self.module_holds_data;
            return;
        }
        self.offered = false;
        let data = match self.cache(store).load(now_secs) {
            Ok(Stored::Fresh(data)) => data,
            Ok(Stored::Expired) => {
                info!(
                    "TLS session data past its maximum age dropped; this login is a full handshake"
                );
                return;
            }
            Ok(Stored::None) => return,
            Err(e) => {
                warn!(error = %e, "cannot read the kept TLS session data; this login is a full handshake");
                return;
            }
        };
        let set = SetSecurityProfile {
            profile: profile.id,
            setting: SecuritySetting::SessionData {
                encrypted: profile.resumption.encrypted(),
                data,
            },
        };
        match at.send(&set).await {
            Ok(()) => {
                debug!("TLS session data set: this login resumes");
                self.offered = true;
                self.module_holds_data = true;
            }
            Err(e) => {
                warn!(error = %e, "the module refused the kept TLS session data; this login is a full handshake")
            }
        }
    }

    /// A secure login succeeded: count it, and keep the session data the
    /// handshake left. `resumption` is what the transport saw its handshake
    /// report (`+UUSECPRF`), as `(security profile, status)`.
    pub async fn logged_in(
        &mut self,
        at: &AtClient,
        store: &Store,
        resumption: Option<(u8, u8)>,
        now_secs: Option<u64>,
    ) {
        if self.offered {
            self.resumed += 1;
        } else {
            self.full_handshakes += 1;
        }
        self.keep_session_data(at, store, resumption, now_secs)
            .await;
    }

    /// Reads and keeps the session data once the module reported it (with
    /// TLS 1.3 the ticket may come after the login: asked again before the
    /// logout). Written to the store only when it changed.
    pub async fn keep_session_data(
        &mut self,
        at: &AtClient,
        store: &Store,
        resumption: Option<(u8, u8)>,
        now_secs: Option<u64>,
    ) {
        let profile = &self.settings.profile;
        let reported = resumption == Some((profile.id, SESSION_DATA_HELD));
        if self.kept_this_session || !profile.resumption.is_on() || !reported {
            return;
        }
        self.module_holds_data = true;
        let read = ReadSessionData {
            profile: profile.id,
            encrypted: profile.resumption.encrypted(),
        };
        let data = match at.send(&read).await {
            Ok(Some(data)) => data,
            Ok(None) => return,
            Err(e) => {
                warn!(error = %e, "cannot read the TLS session data; the next boot pays a full handshake");
                return;
            }
        };
        self.kept_this_session = true;
        match self.cache(store).save(&data, now_secs) {
            Ok(true) => debug!("TLS session data kept for the next boot"),
            Ok(false) => {}
            Err(e) => warn!(error = %e, "cannot keep the TLS session data"),
        }
    }

    /// A login failed; `tls_failure` is the transport's words for it when
    /// it was a TLS failure (`None`: another failure, nothing to do). A TLS
    /// failure is explained in words with the files and the server
    /// concerned; with session data offered, the data is dropped so the
    /// next attempt is a full handshake.
    pub async fn login_failed(
        &mut self,
        at: &AtClient,
        store: &Store,
        tls_failure: Option<&str>,
    ) -> Result<(), StoreError> {
        let Some(words) = tls_failure else {
            return Ok(());
        };
        warn!(
            server = %format_args!("{}:{}", self.server, self.port),
            ca_file = self.ca_file.as_deref().unwrap_or("(none)"),
            cert_file = self.cert_file.as_deref().unwrap_or("(none)"),
            "secure {} connection failed: {words}; the readings stay queued, the next window \
             tries again",
            self.transport
        );
        if self.offered {
            info!("dropping the TLS session data that login offered");
            self.cache(store).forget()?;
            // The module still holds it: a fresh profile clears it.
            if let Err(e) = self.restore(at).await {
                warn!(error = %e, "cannot reset the security profile");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
