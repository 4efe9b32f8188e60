//! What a secure connection of an embedded client gets from the security
//! chapter: the [`TlsSetup`] its security profile and the stored
//! credentials make, the limit of two TLS connections (§3.3), and what the
//! TLS layer reports back: new session data for the profile, the
//! `+UUSECPRF` status URC, the handshake's cost for the energy ledger and
//! the record of every handshake ([`TlsConnection`]).

use std::time::{Duration, Instant};

use openssl::pkey::PKey;
use openssl::x509::X509;

use super::profile::SecurityProfile;
use super::{ER_TLS_CLIENT_CERT, ER_TLS_OTHER, MAX_TLS_CONNECTIONS, TLS_LOG_MAX};
use crate::jobs::tls::{ClientPair, HandshakeReport, TlsEvent, TlsFailure, TlsSetup, TlsVersion};
use crate::jobs::JobId;
use crate::module::Module;
use crate::nvm::CredentialKind;

/// One TLS connection's handshake, as the module saw it (for tests, the
/// snapshot and the energy bench; not module state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConnection {
    /// Module time of the report.
    pub at: Duration,
    pub profile: u8,
    pub version: TlsVersion,
    /// `session_reused()`: the server took the session data.
    pub resumed: bool,
    /// Bytes on the wire both ways, every attempt included.
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// Handshakes tried: 2 when resuming failed and a full one followed.
    pub attempts: u8,
    pub failure: Option<TlsFailure>,
}

/// A TLS connection in use.
#[derive(Debug, Clone, Copy)]
pub(super) struct Open {
    profile: u8,
    /// A new session came on this connection.
    fresh_session: bool,
}

impl Module {
    /// TLS connections in use: the secure MQTT session and `[model]` every
    /// socket with `+USOSEC` on.
    fn tls_connections_in_use(&self) -> usize {
        self.security.open.len() + self.socket_snapshot().iter().filter(|s| s.secure).count()
    }

    /// What a secure connection of profile `p` to `server` (a name or an
    /// address) is made with at `now`; the `+UMQTTER` code when it cannot
    /// be made.
    pub(in crate::module) fn tls_setup(
        &self,
        p: u8,
        server: &str,
        now: Instant,
    ) -> Result<Box<TlsSetup>, (u16, u16)> {
        let profile = self
            .security
            .profiles
            .get(usize::from(p))
            .ok_or(ER_TLS_OTHER)?;
        if self.tls_connections_in_use() >= MAX_TLS_CONNECTIONS {
            return Err(ER_TLS_OTHER);
        }
        let roots = if profile.validation == 0 {
            Vec::new()
        } else {
            self.nvm
                .credentials
                .iter()
                .filter(|c| c.kind == CredentialKind::RootCa)
                .filter(|c| profile.ca_name.is_empty() || c.name == profile.ca_name)
                .map(|c| c.der.clone())
                .collect()
        };
        let expected_host = (profile.validation >= 2).then(|| {
            if profile.expected_host.is_empty() {
                // [model] no op 4: the server as the profile names it.
                server.to_string()
            } else {
                profile.expected_host.clone()
            }
        });
        let client = self.client_credentials(profile)?;
        Ok(Box::new(TlsSetup {
            profile: p,
            validation: profile.validation,
            roots,
            expected_host,
            // [model] level 3 checks the certificates' dates against the
            // module's own clock (`+CCLK`): wrong until network time came.
            validity_at: (profile.validation >= 3).then(|| self.clock.utc_seconds(now)),
            min_version: profile.min_version,
            sni: (!profile.sni.is_empty()).then(|| profile.sni.clone()),
            client,
            session: profile.session.clone().filter(|_| profile.resumption),
            resumption: profile.resumption,
        }))
    }

    /// Ops 5 and 6: both stored and the key the certificate's, or neither
    /// set. `[model]` anything else fails before connecting (13,73).
    fn client_credentials(
        &self,
        profile: &SecurityProfile,
    ) -> Result<Option<ClientPair>, (u16, u16)> {
        if profile.client_cert.is_empty() && profile.client_key.is_empty() {
            return Ok(None);
        }
        let cert = self.credential(CredentialKind::ClientCert, &profile.client_cert);
        let key = self.credential(CredentialKind::ClientKey, &profile.client_key);
        let (Some(cert), Some(key)) = (cert, key) else {
            return Err(ER_TLS_CLIENT_CERT);
        };
        let matching = X509::from_der(&cert.der)
            .and_then(|c| c.public_key())
            .ok()
            .zip(PKey::private_key_from_der(&key.der).ok())
            .is_some_and(|(public, private)| public.public_eq(&private));
        if !matching {
            return Err(ER_TLS_CLIENT_CERT);
        }
        Ok(Some((cert.der.clone(), key.der.clone())))
    }

    /// The secure connection of job `job` started with profile `p`.
    pub(in crate::module) fn tls_opened(&mut self, job: JobId, p: u8) {
        self.security.open.insert(
            job,
            Open {
                profile: p,
                fresh_session: false,
            },
        );
    }

    /// Job `job`'s connection is gone (a no-op for a plain one).
    pub(in crate::module) fn tls_closed(&mut self, job: JobId) {
        self.security.open.remove(&job);
    }

    /// What the TLS layer under job `job` reported. A failed handshake
    /// fails the client's login with its code.
    pub(in crate::module) fn on_tls_job(&mut self, job: JobId, event: TlsEvent, now: Instant) {
        let Some(open) = self.security.open.get_mut(&job) else {
            return; // a connection that is over
        };
        let p = open.profile;
        let profile = &mut self.security.profiles[usize::from(p)];
        match event {
            TlsEvent::Session(der) => {
                if profile.resumption {
                    profile.session = Some(der);
                    open.fresh_session = true;
                }
            }
            TlsEvent::Handshake(report) => {
                // [model] data that did not resume and brought nothing new
                // did not work: it is not kept (nor is it after a failure).
                if report.failure.is_some() || (!report.resumed && !open.fresh_session) {
                    profile.session = None;
                }
                let status = profile.resumption.then(|| profile.resumption_status());
                self.tls_report(p, &report, now);
                match report.failure {
                    None => {
                        // §3.4.1: after every secure connection made with
                        // resumption on, before the client's own URC.
                        if let Some(status) = status {
                            self.urc(format!("+UUSECPRF: {p},13,0,{status}"));
                        }
                    }
                    Some(failure) => self.mqtt_tls_failed(job, failure),
                }
            }
        }
    }

    fn tls_report(&mut self, p: u8, report: &HandshakeReport, now: Instant) {
        self.energy.tls_handshake_report(report);
        let at = self.module_time(now);
        if self.security.log.len() >= TLS_LOG_MAX {
            self.security.log.pop_front();
        }
        self.security.log.push_back(TlsConnection {
            at,
            profile: p,
            version: report.version,
            resumed: report.resumed,
            bytes_sent: report.sent,
            bytes_received: report.received,
            attempts: report.attempts,
            failure: report.failure,
        });
    }

    /// The TLS handshakes since the simulator started (the last
    /// [`TLS_LOG_MAX`]).
    pub(in crate::module) fn tls_log(&self) -> Vec<TlsConnection> {
        self.security.log.iter().cloned().collect()
    }
}
