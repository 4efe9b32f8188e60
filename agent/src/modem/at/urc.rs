//! Unsolicited result codes, typed.
//!
//! One enum for every URC the agent acts on; anything else arrives as
//! [`Urc::Other`] so subscribers and logs still see it. The client parses each
//! URC line once, in its I/O task, and hands the same value to every
//! subscriber.

use super::codec::Line;
use super::params::Fields;
use crate::modem::power::DeepSleep;

/// EPS registration status, `<stat>` of `+CEREG` (3GPP TS 27.007 §10.1.22).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegStatus {
    NotSearching,
    Home,
    Searching,
    Denied,
    Unknown,
    Roaming,
    /// A value this code does not know (SMS-only, emergency, ...).
    Other(u8),
}

impl RegStatus {
    pub fn from_code(code: i64) -> RegStatus {
        match code {
            0 => RegStatus::NotSearching,
            1 => RegStatus::Home,
            2 => RegStatus::Searching,
            3 => RegStatus::Denied,
            4 => RegStatus::Unknown,
            5 => RegStatus::Roaming,
            n => RegStatus::Other(u8::try_from(n).unwrap_or(u8::MAX)),
        }
    }

    /// Registered on the home network or roaming: packet data can flow.
    pub fn is_registered(self) -> bool {
        matches!(self, RegStatus::Home | RegStatus::Roaming)
    }

    pub fn describe(self) -> &'static str {
        match self {
            RegStatus::NotSearching => "not registered, not searching",
            RegStatus::Home => "registered, home network",
            RegStatus::Searching => "searching",
            RegStatus::Denied => "registration denied",
            RegStatus::Unknown => "unknown",
            RegStatus::Roaming => "registered, roaming",
            RegStatus::Other(_) => "other",
        }
    }
}

/// Location details `+CEREG` reports with `<n>` >= 2.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CellLocation {
    pub tac: Option<String>,
    pub cell_id: Option<String>,
    pub access_technology: Option<i64>,
}

/// A typed URC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Urc {
    /// `+CEREG: <stat>[,"<tac>","<ci>",<AcT>]`: EPS registration changed.
    Registration {
        status: RegStatus,
        location: CellLocation,
    },
    /// `+CSCON: <mode>`: the RRC connection went up (true) or idle (false).
    /// The radio's active time is what the battery pays for.
    SignallingConnection { connected: bool },
    /// `+UUDNSRN: ...`: an asynchronous DNS answer (§2.4.2). The fields are
    /// kept as text until the DNS command lands with its typed answer.
    DnsResolved { fields: Vec<String> },
    /// `+UUPING: <n>,<bytes>,"<host>","<ip>",<ttl>,<rtt>` (§2.4.1).
    Ping {
        sequence: u32,
        bytes: u32,
        host: String,
        ip: String,
        ttl: u32,
        rtt_ms: i64,
    },
    /// `+UUPINGER: <code>`: the ping failed.
    PingError { code: i64 },
    /// `+UUMQTTC: <op>,<result>[,...]`: an MQTT operation completed (§6.2-6.7).
    /// `result` 1 is success, 0 failure, for ops 1 (login), 2/9 (publish),
    /// 4 (subscribe: `rest` = granted QoS and topic), 5 (unsubscribe); for
    /// op 0 it is 1 after a logout or the reason the session dropped (100
    /// keep-alive, 101 connection lost, 102 protocol violation `[lib]`);
    /// for op 6 it is the number of unread messages; `8,0` is a failed ping.
    MqttResult {
        op: u8,
        result: i64,
        /// The fields after `<result>`, as text (quotes removed).
        rest: Vec<String>,
    },
    /// `+UUSORD: <s>,<n>`: `n` bytes wait unread on socket `s` (§5.4, §5.7);
    /// after a partial read, what is left (§5.4 scenario 2). After deep
    /// sleep it follows `+UUSLPURC: HIB 0` when a peer woke the module
    /// through an AoN socket (§5.10.2).
    SocketData { socket: u8, pending: usize },
    /// `+UUSOCL: <s>`: the module closed socket `s` (the peer closed it and
    /// its buffer is empty, §5.9, or a connect failed, §5.1).
    SocketClosed { socket: u8 },
    /// `+UUSLPURC: SLP2 <1|0>` / `+UUSLPURC: HIB <1|0>` (§5.10.2): the module
    /// entered (true) or left (false) a deep-sleep state. Reported only once
    /// enabled with `AT+USLPURC`.
    Sleep { state: DeepSleep, entered: bool },
    /// `+UUSECPRF: <p>,13,0,<status>` (§3.4.1): after a secure connection,
    /// the session resumption state of security profile `p`: 1 enabled (no
    /// session data held), 2 configured (the handshake left session data,
    /// to be read with `AT+USECPRF=<p>,13,3`). The note also prints it as
    /// `+USECPRF: <p>,13,0,<status>` (§3.4.2); both spellings are taken.
    SessionResumption { profile: u8, status: u8 },
    /// `+UUHTTPCR: <p>,<cmd>,<result>` (§7.1): HTTP profile `p`'s request
    /// `cmd` (`+UHTTPC`'s number) completed; `result` 1 success, 0 failure
    /// (then `AT+UHTTPER=<p>` says why).
    HttpResult { profile: u8, command: u8, ok: bool },
    /// Anything else, as the module sent it.
    Other { line: String },
}

impl Urc {
    /// Types a URC line. A line that does not have the shape its prefix
    /// promises is kept as [`Urc::Other`], never dropped.
    pub fn parse(line: &Line) -> Urc {
        let typed = match line.prefix() {
            Some(p) if p.eq_ignore_ascii_case(b"+CEREG") => parse_cereg(line),
            Some(p) if p.eq_ignore_ascii_case(b"+CSCON") => Fields::parse(line, "+CSCON")
                .and_then(|f| f.int(0))
                .ok()
                .map(|mode| Urc::SignallingConnection {
                    connected: mode == 1,
                }),
            Some(p) if p.eq_ignore_ascii_case(b"+UUDNSRN") => Fields::parse(line, "+UUDNSRN")
                .ok()
                .map(|f| Urc::DnsResolved {
                    fields: (0..f.len())
                        .map(|i| match f.get(i) {
                            Some(super::params::Field::Int(v)) => v.to_string(),
                            _ => f.str(i).unwrap_or_default().to_string(),
                        })
                        .collect(),
                }),
            Some(p) if p.eq_ignore_ascii_case(b"+UUPING") => parse_ping(line),
            Some(p) if p.eq_ignore_ascii_case(b"+UUMQTTC") => parse_mqtt(line),
            Some(p) if p.eq_ignore_ascii_case(b"+UUSORD") => Fields::parse(line, "+UUSORD")
                .ok()
                .filter(|f| f.len() == 2)
                .and_then(|f| {
                    Some(Urc::SocketData {
                        socket: f.int_as(0).ok()?,
                        pending: f.int_as(1).ok()?,
                    })
                }),
            Some(p) if p.eq_ignore_ascii_case(b"+UUSOCL") => Fields::parse(line, "+UUSOCL")
                .ok()
                .filter(|f| f.len() == 1)
                .and_then(|f| f.int_as(0).ok())
                .map(|socket| Urc::SocketClosed { socket }),
            Some(p) if p.eq_ignore_ascii_case(b"+UUSLPURC") => parse_sleep(line),
            Some(p) if p.eq_ignore_ascii_case(b"+UUHTTPCR") => Fields::parse(line, "+UUHTTPCR")
                .ok()
                .filter(|f| f.len() == 3)
                .and_then(|f| {
                    Some(Urc::HttpResult {
                        profile: f.int_as(0).ok()?,
                        command: f.int_as(1).ok()?,
                        ok: f.int(2).ok()? == 1,
                    })
                }),
            Some(p) if p.eq_ignore_ascii_case(b"+UUSECPRF") => parse_resumption(line, "+UUSECPRF"),
            Some(p) if p.eq_ignore_ascii_case(b"+USECPRF") => parse_resumption(line, "+USECPRF"),
            Some(p) if p.eq_ignore_ascii_case(b"+UUPINGER") => Fields::parse(line, "+UUPINGER")
                .and_then(|f| f.int(0))
                .ok()
                .map(|code| Urc::PingError { code }),
            _ => None,
        };
        typed.unwrap_or_else(|| Urc::Other {
            line: line.display().into_owned(),
        })
    }
}

fn parse_cereg(line: &Line) -> Option<Urc> {
    let f = Fields::parse(line, "+CEREG").ok()?;
    let status = RegStatus::from_code(f.int(0).ok()?);
    let location = CellLocation {
        tac: f.str(1).ok().filter(|s| !s.is_empty()).map(str::to_string),
        cell_id: f.str(2).ok().filter(|s| !s.is_empty()).map(str::to_string),
        access_technology: f.opt_int(3).ok().flatten(),
    };
    Some(Urc::Registration { status, location })
}

fn parse_mqtt(line: &Line) -> Option<Urc> {
    let f = Fields::parse(line, "+UUMQTTC").ok()?;
    Some(Urc::MqttResult {
        op: f.int_as(0).ok()?,
        result: f.int(1).ok()?,
        rest: (2..f.len())
            .map(|i| match f.get(i) {
                Some(super::params::Field::Int(v)) => v.to_string(),
                _ => f.str(i).unwrap_or_default().to_string(),
            })
            .collect(),
    })
}

/// `<p>,13,0,<status>`: anything else under these prefixes is not the
/// resumption status.
fn parse_resumption(line: &Line, prefix: &str) -> Option<Urc> {
    let f = Fields::parse(line, prefix).ok()?;
    (f.len() == 4 && f.int(1).ok()? == 13 && f.int(2).ok()? == 0).then_some(())?;
    Some(Urc::SessionResumption {
        profile: f.int_as(0).ok()?,
        status: f.int_as(3).ok()?,
    })
}

/// `SLP2 1`: one bare field, name and flag separated by blanks (§5.10.2).
fn parse_sleep(line: &Line) -> Option<Urc> {
    let f = Fields::parse(line, "+UUSLPURC").ok()?;
    if f.len() != 1 {
        return None;
    }
    let text = f.str(0).ok()?;
    let mut words = text.split_ascii_whitespace();
    let state = match words.next()? {
        w if w.eq_ignore_ascii_case("SLP2") => DeepSleep::Sleep2,
        w if w.eq_ignore_ascii_case("HIB") => DeepSleep::Hibernate,
        _ => return None,
    };
    let entered = match words.next()? {
        "1" => true,
        "0" => false,
        _ => return None,
    };
    words
        .next()
        .is_none()
        .then_some(Urc::Sleep { state, entered })
}

fn parse_ping(line: &Line) -> Option<Urc> {
    let f = Fields::parse(line, "+UUPING").ok()?;
    Some(Urc::Ping {
        sequence: f.int_as(0).ok()?,
        bytes: f.int_as(1).ok()?,
        host: f.str(2).ok()?.to_string(),
        ip: f.str(3).ok()?.to_string(),
        ttl: f.int_as(4).ok()?,
        rtt_ms: f.int(5).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_http_result_is_typed() {
        assert_eq!(
            Urc::parse(&Line::text(b"+UUHTTPCR: 0,7,1")),
            Urc::HttpResult {
                profile: 0,
                command: 7,
                ok: true
            }
        );
        assert_eq!(
            Urc::parse(&Line::text(b"+UUHTTPCR: 1,4,0")),
            Urc::HttpResult {
                profile: 1,
                command: 4,
                ok: false
            }
        );
    }

    #[test]
    fn the_session_resumption_status_is_typed_under_both_spellings_of_the_note() {
        for text in [&b"+UUSECPRF: 2,13,0,2"[..], b"+USECPRF: 2,13,0,2"] {
            assert_eq!(
                Urc::parse(&Line::text(text)),
                Urc::SessionResumption {
                    profile: 2,
                    status: 2
                }
            );
        }
        // A read answer's shape is not the status.
        assert!(matches!(
            Urc::parse(&Line::text(b"+USECPRF: 2,13,3,QUJD,4")),
            Urc::Other { .. }
        ));
    }

    #[test]
    fn cereg_urc_with_location_is_typed() {
        let urc = Urc::parse(&Line::text(br#"+CEREG: 5,"00C3","0001A2B3",7"#));
        assert_eq!(
            urc,
            Urc::Registration {
                status: RegStatus::Roaming,
                location: CellLocation {
                    tac: Some("00C3".into()),
                    cell_id: Some("0001A2B3".into()),
                    access_technology: Some(7),
                },
            }
        );
    }

    #[test]
    fn ping_urc_from_the_note_is_typed() {
        let urc = Urc::parse(&Line::text(
            br#"+UUPING: 1, 32, "www.google.com", "216.58.206.68", 115, 62"#,
        ));
        assert_eq!(
            urc,
            Urc::Ping {
                sequence: 1,
                bytes: 32,
                host: "www.google.com".into(),
                ip: "216.58.206.68".into(),
                ttl: 115,
                rtt_ms: 62,
            }
        );
    }

    #[test]
    fn malformed_known_urc_is_kept_as_other() {
        let urc = Urc::parse(&Line::text(b"+CEREG: banana"));
        assert_eq!(
            urc,
            Urc::Other {
                line: "+CEREG: banana".into()
            }
        );
    }

    #[test]
    fn sleep_urcs_from_the_note_are_typed() {
        let sleep = |line: &[u8]| Urc::parse(&Line::text(line));
        let typed = |state, entered| Urc::Sleep { state, entered };
        assert_eq!(sleep(b"+UUSLPURC: SLP2 1"), typed(DeepSleep::Sleep2, true));
        assert_eq!(sleep(b"+UUSLPURC: SLP2 0"), typed(DeepSleep::Sleep2, false));
        assert_eq!(
            sleep(b"+UUSLPURC: HIB 1"),
            typed(DeepSleep::Hibernate, true)
        );
        assert_eq!(
            sleep(b"+UUSLPURC: HIB 0"),
            typed(DeepSleep::Hibernate, false)
        );
        for bad in [
            &b"+UUSLPURC: HIB 2"[..],
            b"+UUSLPURC: SLP1 1",
            b"+UUSLPURC: HIB",
            b"+UUSLPURC: HIB 1 1",
            b"+UUSLPURC: HIB,1",
        ] {
            assert!(matches!(sleep(bad), Urc::Other { .. }), "{bad:?}");
        }
    }

    #[test]
    fn mqtt_urcs_from_the_note_are_typed() {
        let mqtt = |line: &[u8]| Urc::parse(&Line::text(line));
        let result = |op, result, rest: &[&str]| Urc::MqttResult {
            op,
            result,
            rest: rest.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(mqtt(b"+UUMQTTC: 1,1"), result(1, 1, &[]));
        assert_eq!(mqtt(b"+UUMQTTC: 1,0"), result(1, 0, &[]));
        assert_eq!(mqtt(b"+UUMQTTC: 2,1"), result(2, 1, &[]));
        assert_eq!(
            mqtt(br#"+UUMQTTC: 4,1,0,"module/lights""#),
            result(4, 1, &["0", "module/lights"])
        );
        assert_eq!(mqtt(b"+UUMQTTC: 6,1"), result(6, 1, &[]));
        assert_eq!(mqtt(b"+UUMQTTC: 0,101"), result(0, 101, &[]));
        assert_eq!(mqtt(b"+UUMQTTC: 8,0"), result(8, 0, &[]));
        // The note's typo is not the module's URC.
        assert!(matches!(mqtt(b"+UUMQTTTC: 2,1"), Urc::Other { .. }));
        assert!(matches!(mqtt(b"+UUMQTTC: x"), Urc::Other { .. }));
    }

    #[test]
    fn socket_urcs_from_the_note_are_typed() {
        let parse = |line: &[u8]| Urc::parse(&Line::text(line));
        assert_eq!(
            parse(b"+UUSORD: 0,30"),
            Urc::SocketData {
                socket: 0,
                pending: 30
            }
        );
        // §5.2 writes it with a blank after the comma.
        assert_eq!(
            parse(b"+UUSORD: 1, 18"),
            Urc::SocketData {
                socket: 1,
                pending: 18
            }
        );
        assert_eq!(parse(b"+UUSOCL: 1"), Urc::SocketClosed { socket: 1 });
        for bad in [
            &b"+UUSORD: 0"[..],
            b"+UUSORD: 0,-1",
            b"+UUSORD: 300,1",
            b"+UUSORD: 0,1,2",
            b"+UUSOCL: x",
            b"+UUSOCL: 0,1",
        ] {
            assert!(
                matches!(parse(bad), Urc::Other { .. }),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
