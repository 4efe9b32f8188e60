//! A credential's bytes: the PEM a stream import brings, the DER the module
//! keeps (§3.3: the answer's MD5 is "of the stored ... DER"), and what
//! `AT+USECMNG=3` shows of it.
//!
//! `[model]` PEM to DER is the base64 body of the one PEM block, decoded,
//! not re-encoded: the DER is byte for byte what the issuer wrote, so the
//! host can compute the same MD5 from its own file. OpenSSL checks that the
//! DER is what the type says (a certificate, an unencrypted private key in
//! PKCS#8 or the traditional RSA/EC form); it never rewrites it.

use openssl::hash::{hash, MessageDigest};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::X509;

use super::super::clock::civil::DateTime;
use crate::nvm::CredentialKind;

/// Why an import was refused (all answer `+CME ERROR`, see `mod.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PemError {
    /// No `-----BEGIN <label>-----` ... `-----END <label>-----` block of a
    /// label the type takes.
    NoBlock,
    /// `[model]` more than one block: one credential per import.
    SeveralBlocks,
    /// The body is not base64, or the DER is not what the type says.
    BadContent,
}

/// The PEM labels each type takes `[model]` (what OpenSSL writes).
fn labels(kind: CredentialKind) -> &'static [&'static str] {
    match kind {
        CredentialKind::RootCa | CredentialKind::ClientCert => &["CERTIFICATE"],
        CredentialKind::ClientKey => &["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"],
    }
}

/// The DER of the one PEM block in `pem` (text around it is ignored, as is
/// an `EC PARAMETERS` block before an EC key, which `openssl ecparam
/// -genkey` writes).
pub(super) fn pem_to_der(kind: CredentialKind, pem: &[u8]) -> Result<Vec<u8>, PemError> {
    let text = std::str::from_utf8(pem).map_err(|_| PemError::BadContent)?;
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|rest| rest.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut closed = false;
        for line in lines.by_ref() {
            if line == end {
                closed = true;
                break;
            }
            body.push_str(line);
        }
        if !closed {
            return Err(PemError::BadContent);
        }
        if label != "EC PARAMETERS" {
            blocks.push((label.to_string(), body));
        }
    }
    let (label, body) = match blocks.as_slice() {
        [] => return Err(PemError::NoBlock),
        [one] => one,
        _ => return Err(PemError::SeveralBlocks),
    };
    if !labels(kind).contains(&label.as_str()) {
        return Err(PemError::NoBlock);
    }
    // Headers (`Proc-Type:`, encrypted keys) have a colon: not a key the
    // module can use (ubxlib does not test encrypted keys on LEXI-R10).
    if body.contains(':') {
        return Err(PemError::BadContent);
    }
    let der = openssl::base64::decode_block(body).map_err(|_| PemError::BadContent)?;
    let readable = if kind.is_certificate() {
        X509::from_der(&der).is_ok()
    } else {
        PKey::private_key_from_der(&der).is_ok()
    };
    if der.is_empty() || !readable {
        return Err(PemError::BadContent);
    }
    Ok(der)
}

/// The MD5 of `der`, 32 lowercase hex digits (§3.3, `[lib]` all 32).
pub(super) fn md5_hex(der: &[u8]) -> String {
    match hash(MessageDigest::md5(), der) {
        Ok(digest) => digest.iter().map(|b| format!("{b:02x}")).collect(),
        // MD5 is in OpenSSL's default provider; a build without it cannot
        // answer a digest at all.
        Err(_) => String::new(),
    }
}

/// One line of `AT+USECMNG=3`, without a prefix `[lib]`:
/// `CA,"<name>","<subject>","YYYY/MM/DD HH:MM:SS"` for certificates,
/// `PK,"<name>"` for keys. `[model]` the subject is its common name (the
/// note's examples show one: `"thawte Primary Root CA"`), or the whole
/// subject in OpenSSL's one-line form when it has none; the date is the end
/// of validity in UTC.
pub(super) fn list_line(kind: CredentialKind, name: &str, der: &[u8]) -> String {
    let tag = kind.tag();
    if !kind.is_certificate() {
        return format!("{tag},\"{name}\"");
    }
    let Ok(cert) = X509::from_der(der) else {
        return format!("{tag},\"{name}\",\"\",\"\"");
    };
    let subject = common_name(&cert).replace('"', "'");
    let expiry = not_after(&cert).map_or_else(String::new, |t| {
        format!(
            "{:04}/{:02}/{:02} {:02}:{:02}:{:02}",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        )
    });
    format!("{tag},\"{name}\",\"{subject}\",\"{expiry}\"")
}

fn common_name(cert: &X509) -> String {
    let subject = cert.subject_name();
    if let Some(cn) = subject.entries_by_nid(Nid::COMMONNAME).next() {
        if let Ok(text) = cn.data().to_string() {
            return text;
        }
    }
    subject
        .entries()
        .filter_map(|e| {
            let key = e.object().nid().short_name().ok()?;
            let value = e.data().to_string().ok()?;
            Some(format!("{key}={value}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The end of validity as a civil date (UTC).
fn not_after(cert: &X509) -> Option<DateTime> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(cert.not_after()).ok()?;
    let seconds = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    Some(DateTime::from_unix_seconds(seconds))
}
