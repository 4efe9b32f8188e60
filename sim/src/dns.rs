//! The simulated network's name service: literal addresses, `localhost`, and
//! the table in `SimConfig::dns`. Never the host's resolver, never the
//! network: tests run offline and must not depend on the machine they run on.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

/// Name -> address, looked up case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct DnsTable {
    /// Keyed by the lower-cased name; the value keeps the name as configured
    /// for reverse answers.
    by_name: BTreeMap<String, (String, IpAddr)>,
}

impl DnsTable {
    pub fn new(entries: &BTreeMap<String, IpAddr>) -> Self {
        let by_name = entries
            .iter()
            .map(|(name, addr)| (normalize(name), (name.clone(), *addr)))
            .collect();
        DnsTable { by_name }
    }

    /// Forward lookup. A literal address resolves to itself.
    pub fn resolve(&self, name: &str) -> Option<IpAddr> {
        let name = name.trim();
        if let Ok(addr) = name.parse::<IpAddr>() {
            return Some(addr);
        }
        let key = normalize(name);
        if key == "localhost" {
            return Some(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        self.by_name.get(&key).map(|(_, addr)| *addr)
    }

    /// Reverse lookup of a literal address through the same table.
    pub fn reverse(&self, addr: &str) -> Option<String> {
        let addr: IpAddr = addr.trim().parse().ok()?;
        if addr == IpAddr::V4(Ipv4Addr::LOCALHOST) {
            return Some("localhost".to_string());
        }
        self.by_name
            .values()
            .find(|(_, a)| *a == addr)
            .map(|(name, _)| name.clone())
    }
}

/// Lower case without a trailing root dot (`Example.COM.` == `example.com`).
fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> DnsTable {
        let mut entries = BTreeMap::new();
        entries.insert("Broker.Example".to_string(), "192.0.2.10".parse().unwrap());
        entries.insert("v6.example".to_string(), "2001:db8::1".parse().unwrap());
        DnsTable::new(&entries)
    }

    #[test]
    fn forward() {
        let t = table();
        assert_eq!(
            t.resolve("broker.example"),
            Some("192.0.2.10".parse().unwrap())
        );
        assert_eq!(
            t.resolve("BROKER.example."),
            Some("192.0.2.10".parse().unwrap())
        );
        assert_eq!(
            t.resolve("v6.example"),
            Some("2001:db8::1".parse().unwrap())
        );
        assert_eq!(t.resolve("localhost"), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(
            t.resolve("203.0.113.7"),
            Some("203.0.113.7".parse().unwrap())
        );
        assert_eq!(t.resolve("www.google.com"), None);
        assert_eq!(t.resolve(""), None);
    }

    #[test]
    fn reverse() {
        let t = table();
        assert_eq!(t.reverse("192.0.2.10").as_deref(), Some("Broker.Example"));
        assert_eq!(t.reverse("127.0.0.1").as_deref(), Some("localhost"));
        assert_eq!(t.reverse("198.51.100.1"), None);
        assert_eq!(t.reverse("not an address"), None);
    }
}
