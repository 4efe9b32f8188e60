//! TLS credentials, read and checked on the host before the module sees
//! them: pure Rust, no TLS library (the module speaks TLS; the agent only
//! has to hand it files it will take).
//!
//! - `pem.rs`: PEM text into blocks (label, DER, the block's exact bytes),
//!   with its own base64 decoder.
//! - `der.rs`: a bounds-checked DER reader that never panics and never
//!   allocates by an announced length.
//! - `x509.rs`: what the checks read out of certificates (public key,
//!   basicConstraints, subject and issuer) and private keys (PKCS#8, PKCS#1,
//!   SEC1: their public key), and the module's key-size rules.
//! - `credentials.rs`: the files' checks and the
//!   [`modem::security::Credential`](crate::modem::security::Credential)s
//!   they become (name from the content, MD5 of the DER as the module
//!   answers it).
//!
//! `config` builds the TLS settings from these; this module knows nothing
//! of the config.

pub mod credentials;
pub mod der;
pub mod pem;
pub mod x509;

#[cfg(test)]
pub(crate) mod test_pki;

pub use credentials::{
    ca_certificates, client_certificate, client_key, key_matches, read_file, Checked,
    CredentialError, Credentials, FileError, MAX_FILE_BYTES,
};
pub use x509::{Certificate, PublicKey, X509Error};
