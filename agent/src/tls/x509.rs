//! What the credential checks read out of certificates and private keys:
//! the public key (algorithm, size, and the key itself, to tell whether a
//! key belongs to a certificate), whether a certificate may sign others
//! (basicConstraints), and its subject and issuer as encoded.
//!
//! Certificates are X.509 (RFC 5280) in DER. Private keys come in three
//! forms: PKCS#8 (`PRIVATE KEY`, RFC 5208/5958), PKCS#1 (`RSA PRIVATE KEY`,
//! RFC 8017) and SEC1 (`EC PRIVATE KEY`, RFC 5915). The public half of an
//! RSA key is in the private key (modulus and exponent); an EC key's public
//! point is an optional field, and computing it from the secret would take
//! elliptic-curve arithmetic this crate does not carry, so a key without it
//! is refused with the command that writes it (`openssl ec`, which
//! recomputes it; `openssl pkey` copies its absence).
//!
//! Nothing here verifies a signature: the module does that during the
//! handshake. Errors never carry key bytes.

use super::der::{self, tag, DerError, Reader, Tlv};

const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

/// Algorithms the module does not take, by name, so a refusal says what
/// the key is rather than an OID.
const OTHER_ALGORITHMS: &[(&[u8], &str)] = &[
    (&[0x2b, 0x65, 0x70], "Ed25519"),
    (&[0x2b, 0x65, 0x71], "Ed448"),
    (&[0x2b, 0x65, 0x6e], "X25519"),
    (&[0x2b, 0x65, 0x6f], "X448"),
    (&[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01], "DSA"),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a],
        "RSASSA-PSS",
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x03, 0x01],
        "DH",
    ),
];

/// A named elliptic curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Curve {
    pub name: &'static str,
    pub bits: u32,
}

/// Curves by OID. One the table lacks is sized from its point.
const CURVES: &[(&[u8], Curve)] = &[
    (
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x01],
        Curve {
            name: "P-192",
            bits: 192,
        },
    ),
    (
        &[0x2b, 0x81, 0x04, 0x00, 0x21],
        Curve {
            name: "P-224",
            bits: 224,
        },
    ),
    (
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
        Curve {
            name: "P-256",
            bits: 256,
        },
    ),
    (
        &[0x2b, 0x81, 0x04, 0x00, 0x22],
        Curve {
            name: "P-384",
            bits: 384,
        },
    ),
    (
        &[0x2b, 0x81, 0x04, 0x00, 0x23],
        Curve {
            name: "P-521",
            bits: 521,
        },
    ),
    (
        &[0x2b, 0x81, 0x04, 0x00, 0x0a],
        Curve {
            name: "secp256k1",
            bits: 256,
        },
    ),
    (
        &[0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07],
        Curve {
            name: "brainpoolP256r1",
            bits: 256,
        },
    ),
    (
        &[0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0b],
        Curve {
            name: "brainpoolP384r1",
            bits: 384,
        },
    ),
    (
        &[0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0d],
        Curve {
            name: "brainpoolP512r1",
            bits: 512,
        },
    ),
];

/// The smallest keys the module takes (application note §3.1); the same
/// holds for the keys that signed the certificates.
pub const MIN_RSA_BITS: u32 = 1024;
/// See [`MIN_RSA_BITS`].
pub const MIN_EC_BITS: u32 = 192;

/// A public key, as far as the checks need it.
#[derive(Clone, PartialEq, Eq)]
pub enum PublicKey {
    Rsa {
        /// Big-endian, without leading zeros.
        modulus: Vec<u8>,
        exponent: Vec<u8>,
    },
    Ec {
        /// The curve's OID, encoded.
        curve_oid: Vec<u8>,
        /// The point as SEC1 encodes it (`04 x y`, or `02`/`03 x`).
        point: Vec<u8>,
    },
    /// An algorithm the module does not take, by name or dotted OID.
    Other { algorithm: String },
}

/// Shows the kind and size, not the key.
impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl PublicKey {
    /// The key's size in bits: the modulus for RSA, the curve's order for
    /// EC (from the point's length for a curve not in the table).
    pub fn bits(&self) -> u32 {
        match self {
            PublicKey::Rsa { modulus, .. } => match modulus.first() {
                None => 0,
                Some(&top) => {
                    let whole = u32::try_from(modulus.len() - 1).unwrap_or(u32::MAX / 8);
                    whole.saturating_mul(8) + (8 - top.leading_zeros())
                }
            },
            PublicKey::Ec { curve_oid, point } => match curve(curve_oid) {
                Some(c) => c.bits,
                None => {
                    let field_bytes = match point.first() {
                        Some(4) => point.len().saturating_sub(1) / 2,
                        _ => point.len().saturating_sub(1),
                    };
                    u32::try_from(field_bytes)
                        .unwrap_or(u32::MAX / 8)
                        .saturating_mul(8)
                }
            },
            PublicKey::Other { .. } => 0,
        }
    }

    /// "RSA, 2048 bits", "EC on P-256 (256 bits)", "Ed25519".
    pub fn describe(&self) -> String {
        match self {
            PublicKey::Rsa { .. } => format!("RSA, {} bits", self.bits()),
            PublicKey::Ec { curve_oid, .. } => match curve(curve_oid) {
                Some(c) => format!("EC on {} ({} bits)", c.name, c.bits),
                None => format!(
                    "EC on curve {} ({} bits)",
                    der::oid_text(curve_oid),
                    self.bits()
                ),
            },
            PublicKey::Other { algorithm } => algorithm.clone(),
        }
    }

    /// Why the module would refuse this key (application note §3.1), if it
    /// would.
    pub fn module_refusal(&self) -> Option<String> {
        let refused = match self {
            PublicKey::Rsa { .. } => self.bits() < MIN_RSA_BITS,
            PublicKey::Ec { .. } => self.bits() < MIN_EC_BITS,
            PublicKey::Other { .. } => true,
        };
        refused.then(|| {
            format!(
                "the key is {}, and the module takes only RSA keys of at least {MIN_RSA_BITS} \
                 bits and ECDSA keys of at least {MIN_EC_BITS} bits (application note §3.1)",
                self.describe()
            )
        })
    }

    /// Whether `other` is the same key: what makes a private key belong to a
    /// certificate. An EC point may be compressed on one side only.
    pub fn same_key(&self, other: &PublicKey) -> bool {
        match (self, other) {
            (
                PublicKey::Rsa { modulus, exponent },
                PublicKey::Rsa {
                    modulus: m,
                    exponent: e,
                },
            ) => modulus == m && exponent == e,
            (
                PublicKey::Ec { curve_oid, point },
                PublicKey::Ec {
                    curve_oid: c,
                    point: p,
                },
            ) => curve_oid == c && same_point(point, p),
            _ => false,
        }
    }
}

fn curve(oid: &[u8]) -> Option<Curve> {
    CURVES.iter().find(|(o, _)| *o == oid).map(|(_, c)| *c)
}

/// SEC1 points: equal, or one compressed form of the other (`02`/`03` by
/// the parity of y, then x).
fn same_point(a: &[u8], b: &[u8]) -> bool {
    fn compress(p: &[u8]) -> Option<Vec<u8>> {
        let (&form, xy) = p.split_first()?;
        match form {
            2 | 3 => Some(p.to_vec()),
            4 if !xy.is_empty() && xy.len() % 2 == 0 => {
                let (x, y) = xy.split_at(xy.len() / 2);
                let parity = y.last().map_or(0, |b| b & 1);
                let mut c = vec![2 + parity];
                c.extend_from_slice(x);
                Some(c)
            }
            _ => None,
        }
    }
    a == b || matches!((compress(a), compress(b)), (Some(x), Some(y)) if x == y)
}

/// Why a certificate or key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum X509Error {
    #[error("not a valid X.509 certificate: {0}")]
    Certificate(#[source] DerError),
    #[error("not a valid {form} private key: {source}")]
    Key {
        form: &'static str,
        #[source]
        source: DerError,
    },
    #[error("the public key's algorithm parameters are not a named curve (explicit curve parameters are not supported)")]
    ExplicitCurve,
    #[error(
        "the EC private key does not include its public key, which the agent needs to match \
         it with the certificate; write the key again with it: `openssl ec -in KEY -out \
         KEY.pem` (`openssl pkey` keeps it out)"
    )]
    NoEcPublicKey,
    #[error("an EC private key without its curve")]
    NoCurve,
}

/// What the checks need of a certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    /// 1, 2 or 3.
    pub version: u64,
    /// The issuer and subject Names as encoded (compared for "self-issued").
    pub issuer: Vec<u8>,
    pub subject: Vec<u8>,
    /// The subject's common name, when it is plain text, for messages.
    pub common_name: Option<String>,
    pub public_key: PublicKey,
    /// basicConstraints' cA; `None` without the extension.
    pub ca: Option<bool>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("version", &self.version)
            .field("common_name", &self.common_name)
            .field("public_key", &self.public_key)
            .field("ca", &self.ca)
            .finish()
    }
}

impl Certificate {
    /// Reads a certificate's DER.
    pub fn parse(der: &[u8]) -> Result<Certificate, X509Error> {
        Certificate::read(der).map_err(|e| match e {
            Read::Der(e) => X509Error::Certificate(e),
            Read::Other(e) => e,
        })
    }

    fn read(der: &[u8]) -> Result<Certificate, Read> {
        let mut outer = Reader::new(der);
        let mut cert = outer.sequence()?;
        outer.finish()?;
        let mut tbs = cert.sequence()?;
        let version = match tbs.optional(tag::context(0))? {
            Some(v) => {
                let mut inner = v.contents();
                let n = inner.small_integer()?;
                inner.finish()?;
                n + 1
            }
            None => 1,
        };
        tbs.expect(tag::INTEGER)?; // serialNumber
        tbs.expect(tag::SEQUENCE)?; // signature algorithm
        let issuer = tbs.expect(tag::SEQUENCE)?;
        tbs.expect(tag::SEQUENCE)?; // validity
        let subject = tbs.expect(tag::SEQUENCE)?;
        let public_key = subject_public_key(&mut tbs.sequence()?)?;
        tbs.optional(tag::context_primitive(1))?; // issuerUniqueID
        tbs.optional(tag::context_primitive(2))?; // subjectUniqueID
        let ca = match tbs.optional(tag::context(3))? {
            Some(extensions) => basic_constraints(&extensions)?,
            None => None,
        };
        tbs.finish()?;
        // signatureAlgorithm and signatureValue follow; their content is
        // the module's business.
        cert.expect(tag::SEQUENCE)?;
        cert.expect(tag::BIT_STRING)?;
        cert.finish()?;
        Ok(Certificate {
            version,
            issuer: issuer.raw.to_vec(),
            subject: subject.raw.to_vec(),
            common_name: common_name(&subject),
            public_key,
            ca,
        })
    }

    /// Subject and issuer are the same name (RFC 5280's "self-issued"); the
    /// signature is not checked.
    pub fn self_issued(&self) -> bool {
        self.subject == self.issuer
    }

    /// Whether the certificate may stand as a trusted root: basicConstraints
    /// with cA true, or an X.509 v1 self-issued root (v1 has no extensions,
    /// and old roots are still v1).
    pub fn may_sign_certificates(&self) -> bool {
        self.ca == Some(true) || (self.version == 1 && self.self_issued())
    }

    /// "`CN=broker CA`" or "without a common name", for messages.
    pub fn name_for_messages(&self) -> String {
        match &self.common_name {
            Some(cn) => format!("CN={cn}"),
            None => "without a common name".to_owned(),
        }
    }
}

/// The inner failure of a reader, before it is said which form failed.
enum Read {
    Der(DerError),
    Other(X509Error),
}

impl From<DerError> for Read {
    fn from(e: DerError) -> Self {
        Read::Der(e)
    }
}

impl From<X509Error> for Read {
    fn from(e: X509Error) -> Self {
        Read::Other(e)
    }
}

/// SubjectPublicKeyInfo's contents: algorithm and key.
fn subject_public_key(spki: &mut Reader<'_>) -> Result<PublicKey, Read> {
    let mut algorithm = spki.sequence()?;
    let oid = algorithm.oid()?;
    let key = spki.bit_string()?;
    spki.finish()?;
    if oid == RSA_ENCRYPTION {
        let mut rsa = Reader::new(key);
        let mut seq = rsa.sequence()?;
        let modulus = seq.unsigned_integer()?.to_vec();
        let exponent = seq.unsigned_integer()?.to_vec();
        seq.finish()?;
        rsa.finish()?;
        Ok(PublicKey::Rsa { modulus, exponent })
    } else if oid == EC_PUBLIC_KEY {
        Ok(PublicKey::Ec {
            curve_oid: named_curve(&mut algorithm)?.to_vec(),
            point: key.to_vec(),
        })
    } else {
        Ok(other_algorithm(oid))
    }
}

/// The parameters of id-ecPublicKey: a named curve.
fn named_curve<'a>(params: &mut Reader<'a>) -> Result<&'a [u8], Read> {
    match params.peek_tag() {
        Some(tag::OID) => Ok(params.oid()?),
        _ => Err(X509Error::ExplicitCurve.into()),
    }
}

fn other_algorithm(oid: &[u8]) -> PublicKey {
    let algorithm = OTHER_ALGORITHMS
        .iter()
        .find(|(o, _)| *o == oid)
        .map_or_else(
            || format!("of the unknown algorithm {}", der::oid_text(oid)),
            |(_, name)| (*name).to_owned(),
        );
    PublicKey::Other { algorithm }
}

/// basicConstraints' cA among the `[3]` extensions; `None` without it.
fn basic_constraints(extensions: &Tlv<'_>) -> Result<Option<bool>, DerError> {
    let mut list = extensions.contents().sequence()?;
    while !list.is_empty() {
        let mut ext = list.sequence()?;
        let id = ext.oid()?;
        if ext.peek_tag() == Some(tag::BOOLEAN) {
            ext.boolean()?; // critical
        }
        let value = ext.octet_string()?;
        if id == BASIC_CONSTRAINTS {
            let mut inner = Reader::new(value);
            let mut constraints = inner.sequence()?;
            let ca = match constraints.peek_tag() {
                Some(tag::BOOLEAN) => constraints.boolean()?,
                _ => false,
            };
            return Ok(Some(ca));
        }
    }
    Ok(None)
}

/// The first common name of a Name, when it is a plain string type.
fn common_name(name: &Tlv<'_>) -> Option<String> {
    let mut rdns = name.contents();
    while let Ok(rdn) = rdns.expect(tag::SET) {
        let mut attributes = rdn.contents();
        while let Ok(mut attribute) = attributes.sequence() {
            if attribute.oid().ok()? == COMMON_NAME {
                let value = attribute.read().ok()?;
                let text = matches!(
                    value.tag,
                    tag::UTF8_STRING | tag::PRINTABLE_STRING | tag::IA5_STRING
                );
                return text
                    .then(|| String::from_utf8_lossy(value.value).into_owned())
                    .filter(|s| s.chars().all(|c| !c.is_control()));
            }
        }
    }
    None
}

/// The public key of a private key, by the PEM label it came under
/// (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`). `None` for a label
/// that is not a private key's.
pub fn private_key_public(label: &str, der: &[u8]) -> Option<Result<PublicKey, X509Error>> {
    let (form, result) = match label {
        "PRIVATE KEY" => ("PKCS#8", pkcs8(der)),
        "RSA PRIVATE KEY" => ("PKCS#1", whole(der, rsa_private)),
        "EC PRIVATE KEY" => ("SEC1", whole(der, |r| ec_private(r, None))),
        _ => return None,
    };
    Some(result.map_err(|e| match e {
        Read::Der(source) => X509Error::Key { form, source },
        Read::Other(e) => e,
    }))
}

/// Runs `f` on the one item `der` holds.
fn whole(
    der: &[u8],
    f: impl FnOnce(&mut Reader<'_>) -> Result<PublicKey, Read>,
) -> Result<PublicKey, Read> {
    let mut r = Reader::new(der);
    let key = f(&mut r)?;
    r.finish()?;
    Ok(key)
}

/// PKCS#8 PrivateKeyInfo / OneAsymmetricKey.
fn pkcs8(der: &[u8]) -> Result<PublicKey, Read> {
    let mut outer = Reader::new(der);
    let mut info = outer.sequence()?;
    outer.finish()?;
    info.small_integer()?; // version
    let mut algorithm = info.sequence()?;
    let oid = algorithm.oid()?;
    let inner = info.octet_string()?;
    if oid == RSA_ENCRYPTION {
        whole(inner, rsa_private)
    } else if oid == EC_PUBLIC_KEY {
        let curve = named_curve(&mut algorithm)?;
        whole(inner, |r| ec_private(r, Some(curve)))
    } else {
        Ok(other_algorithm(oid))
    }
}

/// PKCS#1 RSAPrivateKey: version, modulus, publicExponent, then the secret
/// parts, which are not read.
fn rsa_private(r: &mut Reader<'_>) -> Result<PublicKey, Read> {
    let mut key = r.sequence()?;
    key.small_integer()?;
    let modulus = key.unsigned_integer()?.to_vec();
    let exponent = key.unsigned_integer()?.to_vec();
    Ok(PublicKey::Rsa { modulus, exponent })
}

/// SEC1 ECPrivateKey: version, privateKey, `[0]` curve, `[1]` public key.
/// `outer_curve` is PKCS#8's, used when `[0]` is absent.
fn ec_private(r: &mut Reader<'_>, outer_curve: Option<&[u8]>) -> Result<PublicKey, Read> {
    let mut key = r.sequence()?;
    key.small_integer()?;
    key.octet_string()?;
    let inner_curve = match key.optional(tag::context(0))? {
        Some(params) => Some(named_curve(&mut params.contents())?),
        None => None,
    };
    let curve = inner_curve
        .or(outer_curve)
        .ok_or(Read::Other(X509Error::NoCurve))?;
    let point = match key.optional(tag::context(1))? {
        Some(public) => {
            let mut bits = public.contents();
            let point = bits.bit_string()?;
            bits.finish()?;
            point
        }
        None => return Err(X509Error::NoEcPublicKey.into()),
    };
    Ok(PublicKey::Ec {
        curve_oid: curve.to_vec(),
        point: point.to_vec(),
    })
}

#[cfg(test)]
#[path = "x509_tests.rs"]
mod tests;
