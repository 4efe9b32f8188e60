//! Certificates and keys made at test time with the `openssl` command-line
//! tool, in a temporary directory (`scripts/test` installs it where it is
//! missing). A test that cannot run it fails: it never skips.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

/// A directory of test credentials, removed on drop.
pub(crate) struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    pub(crate) fn new() -> Pki {
        Pki {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Runs `openssl ARGS` in the directory.
    pub(crate) fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("the `openssl` command-line tool is needed by the TLS tests (scripts/test installs it)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A private key `<name>.key` (PKCS#8) of `algorithm`: `rsa:<bits>`,
    /// `ec:<curve>` or `ed25519`.
    pub(crate) fn key(&self, name: &str, algorithm: &str) -> PathBuf {
        let file = format!("{name}.key");
        let mut args = vec!["genpkey", "-out", &file];
        let (kind, param) = algorithm.split_once(':').unwrap_or((algorithm, ""));
        let option;
        match kind {
            "rsa" => {
                option = format!("rsa_keygen_bits:{param}");
                args.extend(["-algorithm", "RSA", "-pkeyopt", &option]);
            }
            "ec" => {
                option = format!("ec_paramgen_curve:{param}");
                args.extend(["-algorithm", "EC", "-pkeyopt", &option]);
            }
            other => args.extend(["-algorithm", other]),
        }
        self.openssl(&args);
        self.path(&file)
    }

    /// A self-signed CA `<name>.pem` with its key `<name>.key`.
    pub(crate) fn ca(&self, name: &str, algorithm: &str) -> PathBuf {
        self.key(name, algorithm);
        let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
        let subject = format!("/CN={name}");
        self.openssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            &key,
            "-out",
            &pem,
            "-days",
            "2",
            "-subj",
            &subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ]);
        self.path(&pem)
    }

    /// A certificate `<name>.pem` for the key `<name>.key` (made of
    /// `algorithm` unless it exists), signed by the CA `ca`, with the
    /// extensions of `extensions` (an `openssl x509 -extfile` text; none
    /// makes an X.509 v1 certificate).
    pub(crate) fn leaf(
        &self,
        name: &str,
        ca: &str,
        algorithm: &str,
        extensions: Option<&str>,
    ) -> PathBuf {
        if !self.path(&format!("{name}.key")).exists() {
            self.key(name, algorithm);
        }
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        let subject = format!("/CN={name}");
        self.openssl(&["req", "-new", "-key", &key, "-out", &csr, "-subj", &subject]);
        let (ca_pem, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
        let mut args = vec![
            "x509", "-req", "-in", &csr, "-CA", &ca_pem, "-CAkey", &ca_key, "-out", &pem, "-days",
            "2",
        ];
        let ext_file = format!("{name}.ext");
        if let Some(text) = extensions {
            self.write(&ext_file, text.as_bytes());
            args.extend(["-extfile", &ext_file]);
        }
        self.openssl(&args);
        self.path(&pem)
    }

    /// A self-signed X.509 v1 certificate `<name>.pem` (no extensions).
    pub(crate) fn v1_root(&self, name: &str, algorithm: &str) -> PathBuf {
        self.key(name, algorithm);
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        let subject = format!("/CN={name}");
        self.openssl(&["req", "-new", "-key", &key, "-out", &csr, "-subj", &subject]);
        self.openssl(&[
            "x509", "-req", "-in", &csr, "-signkey", &key, "-out", &pem, "-days", "2",
        ]);
        self.path(&pem)
    }

    /// The DER of the first PEM block of a file.
    pub(crate) fn der(&self, name: &str) -> Vec<u8> {
        super::pem::parse(&self.read(name)).unwrap()[0].der.clone()
    }
}
