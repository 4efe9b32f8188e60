//! The stable digest of what the agent declared to the module (profiles,
//! security settings): 64-bit FNV-1a; and [`Provisioned`], what a
//! provisioning by digest did. `std`'s `DefaultHasher` is not used:
//! its output may change between Rust releases, and a toolchain upgrade must
//! not make every gateway rewrite its NVM or drop its TLS session.

/// 64-bit FNV-1a (Fowler, Noll, Vo; parameters from the FNV reference):
/// stable across platforms and Rust releases, a dozen lines, no dependency.
#[derive(Debug, Clone)]
pub struct Fnv1a(u64);

impl Fnv1a {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    pub fn new() -> Self {
        Fnv1a(Self::OFFSET)
    }

    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a::new()
    }
}

/// What provisioning a profile by its digest did (MQTT's and HTTP's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provisioned {
    /// The stored digest matched: the profile was reloaded from NVM only.
    Reloaded,
    /// The profile changed (or was never written): every op written, then
    /// stored in NVM once, then the digest recorded.
    Written,
    /// After deep sleep the module brought the profile back from NVM on
    /// its own (HTTP, §7.1.2): nothing was sent but the check that it did.
    Kept,
}
