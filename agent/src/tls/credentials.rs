//! From the operator's PEM files to the credentials the module imports:
//! each checked the way the module would refuse it, before the agent runs
//! (a refusal found by the module costs a radio session and says little).
//!
//! - A CA file holds one or more `CERTIFICATE` blocks and nothing else;
//!   each is imported under its own name. Each must be allowed to sign
//!   certificates (basicConstraints cA, or an X.509 v1 self-issued root).
//! - A client certificate file holds exactly one certificate; a key file
//!   exactly one private key (an `EC PARAMETERS` block beside it, as
//!   `openssl ecparam -genkey` writes, is left out). The key must belong to
//!   the certificate ([`key_matches`]). Password-protected keys are refused:
//!   the module's profile has no password op the agent sets.
//! - Every key, the certificates' included, is one the module takes
//!   (RSA ≥ 1024 bits, ECDSA ≥ 192 bits, §3.1), and every block is at most
//!   [`CREDENTIAL_MAX_BYTES`] of PEM.
//!
//! A credential is named after its content (`ea-ca-<12 hex digits of the
//! DER's SHA-256>`), so a changed file is a new name and the provisioning
//! can import it beside the old one; it carries the MD5 of its DER, which
//! is what the module answers for it. Errors say which block (by line) and
//! why, never a key's bytes.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use md5::Md5;
use sha2::{Digest, Sha256};

use super::pem::{self, Block, PemError};
use super::x509::{self, Certificate, PublicKey, X509Error};
use crate::modem::security::{
    Credential, CredentialKind, CREDENTIAL_MAX_BYTES, CREDENTIAL_NAME_MAX, CREDENTIAL_PREFIX,
};
use crate::values::hex;

/// The largest file read: a few CA certificates fit many times over, and a
/// path that names something else (a device, a log) fails fast.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

/// Hex digits of the SHA-256 in a credential's name: 48 bits tell files
/// apart for any number of changes one gateway sees.
const NAME_HASH_DIGITS: usize = 12;

/// A credential file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} is larger than {} KiB: not a credential file (a CA file should hold only the \
         CA certificates the broker needs)",
        path.display(),
        MAX_FILE_BYTES / 1024
    )]
    TooLarge { path: PathBuf },
}

/// Reads a credential file, at most [`MAX_FILE_BYTES`].
pub fn read_file(path: &Path) -> Result<Vec<u8>, FileError> {
    let read_error = |source| FileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    Ok(bytes)
}

/// Why a file's contents cannot be imported. Blocks are named by the line
/// of their BEGIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("not PEM: {0}")]
    NotPem(#[source] PemError),
    #[error(
        "not PEM: no `-----BEGIN ...-----` line{}",
        if *looks_like_der {
            " (it looks like DER: convert it with `openssl x509 -inform der -in FILE -out \
             FILE.pem`, or `openssl pkey -inform der` for a key)"
        } else {
            ""
        }
    )]
    NoPemBlock { looks_like_der: bool },
    #[error("holds no certificate (no `-----BEGIN CERTIFICATE-----` block)")]
    NoCertificate,
    #[error("line {line}: a `{label}` block, but this file must hold {expected} only")]
    UnexpectedBlock {
        label: String,
        line: usize,
        expected: &'static str,
    },
    #[error(
        "holds {count} certificates; the module takes one client certificate (put an \
         intermediate CA in the broker's CA file instead)"
    )]
    SeveralCertificates { count: usize },
    #[error("holds no private key (`PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY` block)")]
    NoKey,
    #[error("holds {count} private keys; it must hold one")]
    SeveralKeys { count: usize },
    #[error(
        "line {line}: the key is password-protected, which the module does not take; write \
         it without one: `openssl pkey -in KEY -out KEY.plain`"
    )]
    EncryptedKey { line: usize },
    #[error(
        "line {line}: the block is {bytes} bytes of PEM; the module takes at most \
         {CREDENTIAL_MAX_BYTES} bytes per credential"
    )]
    TooLarge { line: usize, bytes: usize },
    #[error("line {line}: {source}")]
    Unreadable {
        line: usize,
        #[source]
        source: X509Error,
    },
    #[error(
        "line {line}: the certificate ({name}) is not a CA certificate (basicConstraints {}), \
         so the module cannot trust servers by it; give the CA that signed the server's \
         certificate",
        if *ca_false { "say cA = FALSE" } else { "are missing" }
    )]
    NotCa {
        line: usize,
        name: String,
        ca_false: bool,
    },
    #[error("line {line}: {reason}")]
    KeyRefused { line: usize, reason: String },
    #[error(
        "the key ({key}) does not belong to the certificate ({certificate}): they are not \
         one key pair"
    )]
    KeyMismatch { key: String, certificate: String },
}

/// A checked client certificate or key, with its public key for
/// [`key_matches`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub credential: Credential,
    pub public_key: PublicKey,
}

/// Every credential of one TLS configuration, in import order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    pub ca: Vec<Credential>,
    pub client_certificate: Option<Credential>,
    pub client_key: Option<Credential>,
}

impl Credentials {
    /// CA certificates first, then the client certificate and key.
    pub fn into_vec(self) -> Vec<Credential> {
        let mut all = self.ca;
        all.extend(self.client_certificate);
        all.extend(self.client_key);
        all
    }
}

/// The blocks of `pem`, at least one.
fn blocks(pem: &[u8]) -> Result<Vec<Block>, CredentialError> {
    let blocks = pem::parse(pem).map_err(CredentialError::NotPem)?;
    if blocks.is_empty() {
        // DER starts with a SEQUENCE; PEM text never with that byte.
        return Err(CredentialError::NoPemBlock {
            looks_like_der: pem.first() == Some(&0x30),
        });
    }
    Ok(blocks)
}

/// The credential a block becomes.
fn credential(kind: CredentialKind, block: &Block) -> Result<Credential, CredentialError> {
    if block.text.len() > CREDENTIAL_MAX_BYTES {
        return Err(CredentialError::TooLarge {
            line: block.line,
            bytes: block.text.len(),
        });
    }
    let sha256 = hex::encode(&Sha256::digest(&block.der));
    let name = format!(
        "{CREDENTIAL_PREFIX}{}-{}",
        kind.list_tag().to_ascii_lowercase(),
        &sha256[..NAME_HASH_DIGITS]
    );
    debug_assert!(name.len() <= CREDENTIAL_NAME_MAX);
    Ok(Credential {
        kind,
        name,
        pem: block.text.clone(),
        md5: hex::encode(&Md5::digest(&block.der)),
    })
}

/// A certificate block, read and its key checked against the module's rules.
fn certificate(block: &Block) -> Result<Certificate, CredentialError> {
    let cert = Certificate::parse(&block.der).map_err(|source| CredentialError::Unreadable {
        line: block.line,
        source,
    })?;
    if let Some(reason) = cert.public_key.module_refusal() {
        return Err(CredentialError::KeyRefused {
            line: block.line,
            reason: format!("the certificate ({}): {reason}", cert.name_for_messages()),
        });
    }
    Ok(cert)
}

/// The CA certificates of a CA file, one credential each (a certificate
/// repeated in the file is imported once).
pub fn ca_certificates(pem: &[u8]) -> Result<Vec<Credential>, CredentialError> {
    let mut credentials: Vec<Credential> = Vec::new();
    for block in blocks(pem)? {
        if block.label != "CERTIFICATE" {
            return Err(CredentialError::UnexpectedBlock {
                label: block.label,
                line: block.line,
                expected: "CA certificates",
            });
        }
        let cert = certificate(&block)?;
        if !cert.may_sign_certificates() {
            return Err(CredentialError::NotCa {
                line: block.line,
                name: cert.name_for_messages(),
                ca_false: cert.ca == Some(false),
            });
        }
        let c = credential(CredentialKind::Ca, &block)?;
        if !credentials.iter().any(|known| known.name == c.name) {
            credentials.push(c);
        }
    }
    if credentials.is_empty() {
        return Err(CredentialError::NoCertificate);
    }
    Ok(credentials)
}

/// The client certificate of a certificate file.
pub fn client_certificate(pem: &[u8]) -> Result<Checked, CredentialError> {
    let blocks = blocks(pem)?;
    if let Some(other) = blocks.iter().find(|b| b.label != "CERTIFICATE") {
        return Err(CredentialError::UnexpectedBlock {
            label: other.label.clone(),
            line: other.line,
            expected: "the client certificate",
        });
    }
    let [block] = &blocks[..] else {
        return Err(CredentialError::SeveralCertificates {
            count: blocks.len(),
        });
    };
    let cert = certificate(block)?;
    Ok(Checked {
        credential: credential(CredentialKind::ClientCert, block)?,
        public_key: cert.public_key,
    })
}

/// The private key of a key file.
pub fn client_key(pem: &[u8]) -> Result<Checked, CredentialError> {
    let mut keys = Vec::new();
    for block in blocks(pem)? {
        match block.label.as_str() {
            // `openssl ecparam -genkey` writes the curve before the key; the
            // key names its curve itself.
            "EC PARAMETERS" => {}
            "ENCRYPTED PRIVATE KEY" => {
                return Err(CredentialError::EncryptedKey { line: block.line })
            }
            _ if block.encrypted => return Err(CredentialError::EncryptedKey { line: block.line }),
            label => match x509::private_key_public(label, &block.der) {
                Some(key) => keys.push((block, key)),
                None => {
                    return Err(CredentialError::UnexpectedBlock {
                        label: block.label,
                        line: block.line,
                        expected: "the client's private key",
                    })
                }
            },
        }
    }
    let count = keys.len();
    let Some((block, key)) = keys.pop() else {
        return Err(CredentialError::NoKey);
    };
    if count > 1 {
        return Err(CredentialError::SeveralKeys { count });
    }
    let public_key = key.map_err(|source| CredentialError::Unreadable {
        line: block.line,
        source,
    })?;
    if let Some(reason) = public_key.module_refusal() {
        return Err(CredentialError::KeyRefused {
            line: block.line,
            reason,
        });
    }
    Ok(Checked {
        credential: credential(CredentialKind::ClientKey, &block)?,
        public_key,
    })
}

/// The key belongs to the certificate: the same public key.
pub fn key_matches(certificate: &Checked, key: &Checked) -> Result<(), CredentialError> {
    if certificate.public_key.same_key(&key.public_key) {
        Ok(())
    } else {
        Err(CredentialError::KeyMismatch {
            key: key.public_key.describe(),
            certificate: certificate.public_key.describe(),
        })
    }
}

#[cfg(test)]
#[path = "credentials_tests.rs"]
mod tests;
