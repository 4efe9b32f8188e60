//! Certificates and keys made at test time with the `openssl` command line
//! (never with the crate the simulator uses, so the two cannot agree on a
//! mistake): a CA, a server certificate for `localhost` and 127.0.0.1
//! signed by it, a client certificate for mutual TLS, and a second CA that
//! signed nothing the servers use.
//!
//! RSA 2048 for the CA and the server, as most brokers on the internet
//! have; EC P-256 for the client, as a gateway would. The directory and
//! files are readable by all: mosquitto started as root drops to its own
//! user before it reads them, and these keys protect nothing.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `openssl` is, or a failure that says how to get it.
fn openssl_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(["/usr/bin".into(), "/usr/local/bin".into()])
        .map(|dir: PathBuf| dir.join("openssl"))
        .find(|p| p.is_file())
        .expect(
            "the openssl tool is not installed: run scripts/test, or \
             apt-get install --no-install-recommends openssl",
        )
}

/// Runs `openssl <args>` in `dir`; panics with its output when it fails.
pub fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(openssl_binary())
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The files of one test's PKI, in a temp dir removed on drop.
#[derive(Debug)]
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Default for Pki {
    fn default() -> Self {
        Pki::new()
    }
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let pki = Pki { dir };
        pki.ca("ca", "Test Root CA");
        pki.ca("other-ca", "Some Other CA");
        pki.leaf(
            "server",
            "rsa:2048",
            "/CN=localhost",
            "ca",
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        );
        pki.leaf(
            "client",
            "ec",
            "/CN=gateway-1",
            "ca",
            "extendedKeyUsage=clientAuth\n",
        );
        for entry in std::fs::read_dir(pki.dir.path()).unwrap() {
            let path = entry.unwrap().path();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        pki
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    pub fn pem(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.path(file)).unwrap()
    }

    /// The MD5 of a certificate's DER, as the `openssl` tool computes it:
    /// what the module must answer to its import.
    pub fn certificate_md5(&self, file: &str) -> String {
        let der = openssl(self.dir(), &["x509", "-in", file, "-outform", "DER"]);
        let der_file = self.path(&format!("{file}.der"));
        std::fs::write(&der_file, der).unwrap();
        let out = openssl(
            self.dir(),
            &["dgst", "-md5", "-r", der_file.to_str().unwrap()],
        );
        String::from_utf8_lossy(&out)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    }

    /// A self-signed CA `<name>.pem` with its key `<name>.key`.
    fn ca(&self, name: &str, common_name: &str) {
        let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
        openssl(
            self.dir(),
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &pem,
                "-subj",
                &format!("/O=lexi-sim tests/CN={common_name}"),
                "-days",
                "30",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
    }

    /// `<name>.pem` and `<name>.key` (PKCS#8), signed by CA `ca`.
    fn leaf(&self, name: &str, key_type: &str, subject: &str, ca: &str, extensions: &str) {
        let (key, csr, pem, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        let mut request = vec!["req", "-new", "-nodes", "-keyout", &key, "-out", &csr];
        request.extend(["-subj", subject]);
        if key_type == "ec" {
            request.extend(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
        } else {
            request.extend(["-newkey", key_type]);
        }
        openssl(self.dir(), &request);
        std::fs::write(self.path(&ext), extensions).unwrap();
        let serial = format!("0x{:016x}", rand_serial());
        openssl(
            self.dir(),
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &format!("{ca}.pem"),
                "-CAkey",
                &format!("{ca}.key"),
                "-set_serial",
                &serial,
                "-days",
                "30",
                "-extfile",
                &ext,
                "-out",
                &pem,
            ],
        );
    }
}

/// A serial number no other certificate of the run has.
fn rand_serial() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (nanos << 8) ^ NEXT.fetch_add(1, Ordering::Relaxed)
}
