//! `uplink.http.url` taken apart, without a URL crate: the module's HTTP
//! client needs the pieces, not a URL. The server goes into the profile
//! (`AT+UHTTP=<p>,0` for an address, `,1` for a name, `,5` the port, `,6`
//! plain or TLS, §7.1, §7.5), the path and query into every request
//! (`AT+UHTTPC=<p>,<cmd>,"<path>",...`).
//!
//! Accepted: `http://` or `https://` (any case), a host name, an IPv4
//! address or an IPv6 address in brackets, an optional port (default 80 or
//! 443), then a path and query. Refused, each with why: other schemes,
//! user information (`user:pass@`: the module's requests carry a header
//! instead), a fragment (never sent), and characters a quoted AT parameter
//! cannot carry (`"`, spaces, control characters: percent-encode them).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The port of `http://` without one.
pub const DEFAULT_HTTP_PORT: u16 = 80;
/// The port of `https://` without one.
pub const DEFAULT_HTTPS_PORT: u16 = 443;

/// Whether requests go over TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// The server as the profile names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlHost {
    /// A DNS name, resolved by the module.
    Name(String),
    /// An address (IPv6 without its brackets).
    Ip(IpAddr),
}

impl UrlHost {
    /// As the module and the TLS settings take it: the name, or the
    /// address without brackets.
    pub fn text(&self) -> String {
        match self {
            UrlHost::Name(name) => name.clone(),
            UrlHost::Ip(ip) => ip.to_string(),
        }
    }
}

/// A URL the module's HTTP client can request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    pub scheme: Scheme,
    pub host: UrlHost,
    /// The port given, else the scheme's.
    pub port: u16,
    /// The path with its query, starting with `/`.
    pub path: String,
}

/// Takes `url` apart; the error says what is wrong in words.
pub fn parse(url: &str) -> Result<HttpUrl, String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "{url:?} is not a URL: expected http://host/path or https://host/path"
        ));
    };
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => {
            return Err(format!(
                "the scheme {other:?} is not supported: the module's HTTP client speaks \
                 http and https"
            ))
        }
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    if authority.contains('@') {
        return Err(
            "user information (user:password@) in the URL is not supported: put the \
                    credentials in uplink.http.headers (e.g. Authorization)"
                .into(),
        );
    }
    let (host, port) = split_port(authority)?;
    let port = port.unwrap_or(match scheme {
        Scheme::Http => DEFAULT_HTTP_PORT,
        Scheme::Https => DEFAULT_HTTPS_PORT,
    });
    Ok(HttpUrl {
        scheme,
        host,
        port,
        path: request_path(path)?,
    })
}

/// The host and the port of `host[:port]`, `[v6][:port]`.
fn split_port(authority: &str) -> Result<(UrlHost, Option<u16>), String> {
    if authority.is_empty() {
        return Err("the URL names no server".into());
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((inner, after)) = bracketed.split_once(']') else {
            return Err(format!(
                "{authority:?}: an IPv6 address without its closing ']'"
            ));
        };
        let ip: Ipv6Addr = inner
            .parse()
            .map_err(|_| format!("[{inner}] is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| {
                format!("{authority:?}: expected ':' and a port after the IPv6 address")
            })?),
        };
        (UrlHost::Ip(IpAddr::V6(ip)), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        (host_name_or_ipv4(host)?, port)
    };
    let port = port
        .map(|p| {
            p.parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("the port {p:?} is not a TCP port, 1..=65535"))
        })
        .transpose()?;
    Ok((host, port))
}

fn host_name_or_ipv4(host: &str) -> Result<UrlHost, String> {
    if host.is_empty() {
        return Err("the URL names no server".into());
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(UrlHost::Ip(IpAddr::V4(ip)));
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!("{host:?} is not an IPv4 address"));
    }
    if host.len() > 253 {
        return Err(format!(
            "the host name is {} characters long; a DNS name has at most 253",
            host.len()
        ));
    }
    for label in host.split('.') {
        let allowed = label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if label.is_empty() || label.len() > 63 || !allowed {
            return Err(format!(
                "{host:?} is not a host name: dot-separated labels of 1 to 63 letters, \
                 digits, '-' or '_'"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "{host:?} is not a host name: a label starts or ends with '-'"
            ));
        }
    }
    Ok(UrlHost::Name(host.to_owned()))
}

/// The path and query as a request line carries them: `/` when empty.
fn request_path(path: &str) -> Result<String, String> {
    if path.contains('#') {
        return Err("a fragment (#...) is never sent to the server; remove it from the URL".into());
    }
    if let Some(c) = path.chars().find(|c| !matches!(c, '!'..='~') || *c == '"') {
        return Err(format!(
            "the path contains {c:?}: only printable ASCII without spaces and '\"' can go \
             into the module's request (percent-encode the rest, e.g. %20)"
        ));
    }
    Ok(match path.strip_prefix('?') {
        Some(_) => format!("/{path}"),
        None if path.is_empty() => "/".to_owned(),
        None => path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(url: &str) -> HttpUrl {
        parse(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn names_addresses_ports_and_paths_are_taken_apart() {
        let u = ok("https://ingest.example.com/v1/telemetry/gw-7?db=edge&precision=ns");
        assert_eq!(u.scheme, Scheme::Https);
        assert_eq!(u.host, UrlHost::Name("ingest.example.com".into()));
        assert_eq!(u.port, 443);
        assert_eq!(u.path, "/v1/telemetry/gw-7?db=edge&precision=ns");

        let u = ok("HTTP://10.0.0.7:8086");
        assert_eq!(
            (u.scheme, u.host.text(), u.port, u.path.as_str()),
            (Scheme::Http, "10.0.0.7".into(), 8086, "/")
        );
        let u = ok("http://[2001:db8::1]:8080/write");
        assert_eq!(u.host, UrlHost::Ip("2001:db8::1".parse().unwrap()));
        assert_eq!((u.port, u.path.as_str()), (8080, "/write"));
        let u = ok("https://[::1]?q=1");
        assert_eq!((u.port, u.path.as_str()), (443, "/?q=1"));
        assert_eq!(ok("http://localhost").port, 80);
    }

    #[test]
    fn what_the_module_cannot_request_is_refused_with_the_reason() {
        let cases = [
            ("ingest.example.com/v1", "not a URL"),
            ("ftp://example.com/", "scheme \"ftp\""),
            ("mqtt://example.com/", "scheme \"mqtt\""),
            ("https://user:pw@example.com/", "user information"),
            ("https:///path", "no server"),
            ("https://example.com:0/", "not a TCP port"),
            ("https://example.com:99999/", "not a TCP port"),
            ("https://example.com:/", "not a TCP port"),
            ("https://[2001:db8::1/", "closing ']'"),
            ("https://[fe80::zz]/", "not an IPv6 address"),
            ("https://[::1]x/", "expected ':'"),
            ("https://300.1.2.3/", "not an IPv4 address"),
            ("https://bad host/", "not a host name"),
            ("https://-bad.example/", "starts or ends with '-'"),
            ("https://a..b/", "not a host name"),
            ("https://example.com/a b", "contains ' '"),
            ("https://example.com/a\"b", "contains '\"'"),
            ("https://example.com/a\tb", "contains '\\t'"),
            ("https://example.com/page#top", "fragment"),
        ];
        for (url, expected) in cases {
            let error = parse(url).expect_err(url);
            assert!(error.contains(expected), "{url}: {error}");
        }
        let long = format!("https://{}.example/", "a".repeat(64));
        assert!(parse(&long).unwrap_err().contains("not a host name"));
    }
}
