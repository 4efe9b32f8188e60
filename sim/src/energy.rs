//! The energy ledger: how much charge the simulated module drew, from the
//! time it spent in each [`PowerMode`] (module time) times that state's
//! current, plus a radio cost per byte sent and received and per TLS
//! handshake. The one table of currents and costs is [`Currents`].
//!
//! TLS handshakes are priced from the handshake that really happened (the
//! TLS layer's [`HandshakeReport`]): its bytes on the wire both ways at the
//! per-byte costs (they are also in the radio byte totals), its round trips
//! (TLS 1.3: one; TLS 1.2: two full, one resumed) as radio time at the
//! Active current, and the module CPU's crypto, which differs between a
//! full handshake (key exchange, certificate chain verification, a client
//! signature with mutual TLS) and a resumed one. Round trips are charged
//! here because the simulated link has no radio latency of its own. After
//! the handshake, each MQTT packet of a secure session carries a TLS
//! record's own bytes too (`[model]`, `module/mqtt/state.rs`).
//!
//! Pure: the module feeds it the power log's transitions and the radio's
//! byte counts; [`Ledger::report`] prices them.
//!
//! **Every number in [`Currents::default`] is an ASSUMPTION.** The LEXI-R10
//! datasheet is not in our reference folder and the application note gives
//! no currents. The values are typical orders of magnitude for an LTE
//! Cat 1bis/Cat M1 module (u-blox's and other vendors' published figures for
//! comparable modules: PSM/hibernate a few µA, eDRX deep sleep tens of µA,
//! DRX low-power idle around 1 mA, connected-mode averages of 100-200 mA
//! with peaks of several 100 mA), not measurements. Change them here, and
//! only here, when a datasheet is at hand.

use std::time::Duration;

use crate::jobs::tls::HandshakeReport;
use crate::module::{PowerLogEntry, PowerMode};

/// The current drawn in each state and the radio costs. See the module doc:
/// all ASSUMPTIONS.
#[derive(Debug, Clone, PartialEq)]
pub struct Currents {
    /// Supply voltage, V. ASSUMPTION: 3.8 V, the usual nominal VCC of
    /// u-blox cellular modules.
    pub supply_v: f64,
    /// Average current per state, mA, indexed by [`PowerMode::index`].
    pub state_ma: [f64; 7],
    /// Radio energy per byte sent, µJ (on top of the Active current).
    pub sent_uj_per_byte: f64,
    /// Radio energy per byte received, µJ.
    pub received_uj_per_byte: f64,
    /// A full TLS handshake's crypto on the module's CPU, mJ.
    pub tls_handshake_mj: f64,
    /// A resumed TLS handshake's crypto, mJ.
    pub tls_resumed_handshake_mj: f64,
    /// One handshake round trip: the radio held connected this long.
    pub tls_round_trip: Duration,
}

impl Default for Currents {
    fn default() -> Self {
        let mut state_ma = [0.0; 7];
        // ASSUMPTION: no supply, no leakage worth counting.
        state_ma[PowerMode::Off.index()] = 0.0;
        // ASSUMPTION: CPU start-up and radio calibration, ~30 mA average.
        state_ma[PowerMode::Booting.index()] = 30.0;
        // ASSUMPTION: RRC connected, averaged over TX/RX bursts (peaks of
        // several 100 mA) and the connected-mode DRX tail.
        state_ma[PowerMode::Active.index()] = 120.0;
        // ASSUMPTION: awake with power saving not engaged (CPU and UART on,
        // paging DRX): several mA.
        state_ma[PowerMode::Idle.index()] = 6.0;
        // ASSUMPTION: low-power idle with DRX paging, ~1 mA.
        state_ma[PowerMode::Sleep1.index()] = 1.0;
        // ASSUMPTION: eDRX deep sleep, tens of µA.
        state_ma[PowerMode::Sleep2.index()] = 0.05;
        // ASSUMPTION: PSM-like hibernate, a few µA.
        state_ma[PowerMode::Hibernate.index()] = 0.004;
        Currents {
            supply_v: 3.8,
            state_ma,
            // ASSUMPTION: ~0.8 W of extra TX power at ~1 Mbit/s uplink
            // (Cat 1bis) is ~6 µJ/byte; receiving is cheaper.
            sent_uj_per_byte: 6.0,
            received_uj_per_byte: 2.0,
            // ASSUMPTION: ECDHE (P-256) plus verifying an ECDSA/RSA chain
            // of two or three certificates, and signing with the client key
            // for mutual TLS, on a Cortex-M/A class CPU: ~100 ms at ~30 mA
            // above idle, ~12 mJ. (Bytes and round trips are priced apart.)
            tls_handshake_mj: 12.0,
            // ASSUMPTION: a resumed handshake verifies no certificate; TLS
            // 1.3 still does an ECDHE (psk_dhe_ke): ~4 mJ.
            tls_resumed_handshake_mj: 4.0,
            // ASSUMPTION: an LTE Cat 1bis round trip to a cloud broker,
            // ~100 ms, radio connected throughout.
            tls_round_trip: Duration::from_millis(100),
        }
    }
}

impl Currents {
    /// mJ for `time` in `state`: mA x V = mW, mW x s = mJ.
    pub fn state_mj(&self, state: PowerMode, time: Duration) -> f64 {
        self.state_ma[state.index()] * self.supply_v * time.as_secs_f64()
    }
}

/// Time and energy in one state.
#[derive(Debug, Clone, PartialEq)]
pub struct StateEnergy {
    pub state: PowerMode,
    /// Module time.
    pub time: Duration,
    pub millijoules: f64,
}

/// What the module drew since the simulator started.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyReport {
    /// One entry per [`PowerMode`], in [`PowerMode::ALL`] order.
    pub per_state: Vec<StateEnergy>,
    /// Module time covered (since the simulator started).
    pub elapsed: Duration,
    pub radio_bytes_sent: u64,
    pub radio_bytes_received: u64,
    /// Full and resumed TLS handshakes that completed.
    pub tls_handshakes: u64,
    /// The TLS handshakes by kind (their bytes are in the totals above).
    pub tls: TlsEnergy,
    /// How often the module went Active (RRC connection set-ups).
    pub rrc_connections: u64,
    /// Energy of the bytes and handshakes (not in `per_state`).
    pub radio_mj: f64,
    pub total_mj: f64,
}

/// TLS handshakes of one kind and what they cost.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HandshakeEnergy {
    pub count: u64,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub round_trips: u64,
    /// Bytes, round trips and crypto together.
    pub millijoules: f64,
}

impl HandshakeEnergy {
    /// Mean millijoules per handshake (0 without any).
    pub fn mj_each(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.millijoules / self.count as f64
        }
    }
}

/// The TLS part of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TlsEnergy {
    pub full: HandshakeEnergy,
    pub resumed: HandshakeEnergy,
    /// Handshakes that failed: their bytes and round trips are charged.
    pub failed: HandshakeEnergy,
}

impl EnergyReport {
    /// Time spent in `state`.
    pub fn time_in(&self, state: PowerMode) -> Duration {
        self.per_state
            .iter()
            .find(|s| s.state == state)
            .map_or(Duration::ZERO, |s| s.time)
    }
}

/// Accumulates time per state and radio counts.
#[derive(Debug, Clone)]
pub struct Ledger {
    currents: Currents,
    time: [Duration; 7],
    /// The state being accumulated and since when (module time).
    current: Option<PowerLogEntry>,
    sent: u64,
    received: u64,
    /// Full handshakes counted without a report ([`Ledger::tls_handshake`]).
    tls_handshakes: u64,
    /// Handshake reports by kind: (count, sent, received, round trips).
    tls_full: [u64; 4],
    tls_resumed: [u64; 4],
    tls_failed: [u64; 4],
    rrc_connections: u64,
}

impl Ledger {
    pub fn new(currents: Currents) -> Self {
        Ledger {
            currents,
            time: [Duration::ZERO; 7],
            current: None,
            sent: 0,
            received: 0,
            tls_handshakes: 0,
            tls_full: [0; 4],
            tls_resumed: [0; 4],
            tls_failed: [0; 4],
            rrc_connections: 0,
        }
    }

    /// The module entered `entry.state` at `entry.at`. Times never go
    /// backwards: an earlier `at` counts as no time in the previous state.
    pub fn enter(&mut self, entry: PowerLogEntry) {
        if let Some(prev) = self.current {
            self.time[prev.state.index()] += entry.at.saturating_sub(prev.at);
        }
        if entry.state == PowerMode::Active {
            self.rrc_connections += 1;
        }
        self.current = Some(entry);
    }

    /// Bytes the radio sent and received (payload and protocol overhead).
    pub fn radio_bytes(&mut self, sent: u64, received: u64) {
        self.sent = self.sent.saturating_add(sent);
        self.received = self.received.saturating_add(received);
    }

    /// A full handshake whose bytes were not measured: only its crypto.
    pub fn tls_handshake(&mut self) {
        self.tls_handshakes += 1;
    }

    /// A handshake as it happened: its bytes join the radio totals.
    pub fn tls_handshake_report(&mut self, report: &HandshakeReport) {
        self.radio_bytes(report.sent, report.received);
        let kind = match (report.failure, report.resumed) {
            (Some(_), _) => &mut self.tls_failed,
            (None, true) => &mut self.tls_resumed,
            (None, false) => &mut self.tls_full,
        };
        let add = [
            1,
            report.sent,
            report.received,
            u64::from(report.round_trips()),
        ];
        for (total, n) in kind.iter_mut().zip(add) {
            *total = total.saturating_add(n);
        }
    }

    /// One kind of handshake priced; `crypto_mj` per handshake.
    fn price(&self, counts: [u64; 4], crypto_mj: f64) -> HandshakeEnergy {
        let c = &self.currents;
        let [count, sent, received, round_trips] = counts;
        let rtt_mj = c.state_mj(PowerMode::Active, c.tls_round_trip) * round_trips as f64;
        let bytes_mj =
            (sent as f64 * c.sent_uj_per_byte + received as f64 * c.received_uj_per_byte) / 1000.0;
        HandshakeEnergy {
            count,
            bytes_sent: sent,
            bytes_received: received,
            round_trips,
            millijoules: bytes_mj + rtt_mj + count as f64 * crypto_mj,
        }
    }

    /// The ledger priced at module time `at` (the current state counts up to it).
    pub fn report(&self, at: Duration) -> EnergyReport {
        let mut time = self.time;
        if let Some(cur) = self.current {
            time[cur.state.index()] += at.saturating_sub(cur.at);
        }
        let c = &self.currents;
        let per_state: Vec<StateEnergy> = PowerMode::ALL
            .iter()
            .map(|&state| StateEnergy {
                state,
                time: time[state.index()],
                millijoules: c.state_mj(state, time[state.index()]),
            })
            .collect();
        let tls = TlsEnergy {
            full: self.price(self.tls_full, c.tls_handshake_mj),
            resumed: self.price(self.tls_resumed, c.tls_resumed_handshake_mj),
            failed: self.price(self.tls_failed, 0.0),
        };
        // The handshakes' bytes are in `sent`/`received`: only their round
        // trips and crypto come on top.
        let handshakes_extra = [tls.full, tls.resumed, tls.failed]
            .iter()
            .map(|h| {
                h.millijoules
                    - (h.bytes_sent as f64 * c.sent_uj_per_byte
                        + h.bytes_received as f64 * c.received_uj_per_byte)
                        / 1000.0
            })
            .sum::<f64>();
        let radio_mj = (self.sent as f64 * c.sent_uj_per_byte
            + self.received as f64 * c.received_uj_per_byte)
            / 1000.0
            + self.tls_handshakes as f64 * c.tls_handshake_mj
            + handshakes_extra;
        let total_mj = per_state.iter().map(|s| s.millijoules).sum::<f64>() + radio_mj;
        EnergyReport {
            per_state,
            elapsed: time.iter().sum(),
            radio_bytes_sent: self.sent,
            radio_bytes_received: self.received,
            tls_handshakes: self.tls_handshakes + tls.full.count + tls.resumed.count,
            tls,
            rrc_connections: self.rrc_connections,
            radio_mj,
            total_mj,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::tls::{TlsFailure, TlsVersion};

    fn at(secs: u64, state: PowerMode) -> PowerLogEntry {
        PowerLogEntry {
            at: Duration::from_secs(secs),
            state,
        }
    }

    #[test]
    fn a_hand_computed_day_in_the_life() {
        let currents = Currents {
            supply_v: 4.0,
            state_ma: [0.0, 25.0, 100.0, 5.0, 1.0, 0.05, 0.005],
            sent_uj_per_byte: 10.0,
            received_uj_per_byte: 2.0,
            tls_handshake_mj: 50.0,
            tls_resumed_handshake_mj: 10.0,
            tls_round_trip: Duration::from_millis(100),
        };
        let mut ledger = Ledger::new(currents);
        ledger.enter(at(0, PowerMode::Booting)); // 6 s
        ledger.enter(at(6, PowerMode::Active)); // 10 s
        ledger.enter(at(16, PowerMode::Idle)); // 5 s
        ledger.enter(at(21, PowerMode::Hibernate)); // 979 s
        ledger.enter(at(1000, PowerMode::Active)); // 4 s, up to the report
        ledger.radio_bytes(1000, 0);
        ledger.radio_bytes(0, 500);
        ledger.tls_handshake();
        let r = ledger.report(Duration::from_secs(1004));
        // Booting 25 mA x 4 V x 6 s = 600 mJ; Active 100 x 4 x 14 = 5600;
        // Idle 5 x 4 x 5 = 100; Hibernate 0.005 x 4 x 979 = 19.58.
        let mj = |s: PowerMode| r.per_state[s.index()].millijoules;
        assert!((mj(PowerMode::Booting) - 600.0).abs() < 1e-9);
        assert!((mj(PowerMode::Active) - 5600.0).abs() < 1e-9);
        assert!((mj(PowerMode::Idle) - 100.0).abs() < 1e-9);
        assert!((mj(PowerMode::Hibernate) - 19.58).abs() < 1e-9);
        assert_eq!(r.time_in(PowerMode::Active), Duration::from_secs(14));
        assert_eq!(r.time_in(PowerMode::Sleep1), Duration::ZERO);
        // Radio: 1000 x 10 µJ + 500 x 2 µJ = 11 mJ; TLS 50 mJ.
        assert!((r.radio_mj - 61.0).abs() < 1e-9);
        assert!((r.total_mj - (600.0 + 5600.0 + 100.0 + 19.58 + 61.0)).abs() < 1e-9);
        assert_eq!(r.elapsed, Duration::from_secs(1004));
        assert_eq!(r.rrc_connections, 2);
        assert_eq!((r.radio_bytes_sent, r.radio_bytes_received), (1000, 500));
        assert_eq!(r.tls_handshakes, 1);
    }

    fn handshake(version: TlsVersion, resumed: bool, bytes: (u64, u64)) -> HandshakeReport {
        HandshakeReport {
            version,
            resumed,
            sent: bytes.0,
            received: bytes.1,
            attempts: 1,
            failure: None,
        }
    }

    #[test]
    fn full_resumed_and_failed_handshakes_are_priced_from_their_reports() {
        let currents = Currents {
            supply_v: 4.0,
            state_ma: [0.0, 0.0, 100.0, 0.0, 0.0, 0.0, 0.0],
            sent_uj_per_byte: 10.0,
            received_uj_per_byte: 2.0,
            tls_handshake_mj: 12.0,
            tls_resumed_handshake_mj: 4.0,
            tls_round_trip: Duration::from_millis(100),
        };
        let mut ledger = Ledger::new(currents);
        ledger.tls_handshake_report(&handshake(TlsVersion::Tls12, false, (500, 2000)));
        ledger.tls_handshake_report(&handshake(TlsVersion::Tls12, true, (300, 200)));
        ledger.tls_handshake_report(&HandshakeReport {
            failure: Some(TlsFailure::Untrusted),
            ..handshake(TlsVersion::Tls13, false, (400, 100))
        });
        let r = ledger.report(Duration::ZERO);
        // A round trip: 100 mA x 4 V x 0.1 s = 40 mJ.
        // Full: 500 x 10 µJ + 2000 x 2 µJ = 9 mJ, two round trips 80, crypto 12.
        assert!((r.tls.full.millijoules - 101.0).abs() < 1e-9, "{:?}", r.tls);
        // Resumed: 3 + 0.4 mJ, one round trip 40, crypto 4.
        assert!(
            (r.tls.resumed.millijoules - 47.4).abs() < 1e-9,
            "{:?}",
            r.tls
        );
        // Failed: 4 + 0.2 mJ and its round trip, no crypto counted.
        assert!(
            (r.tls.failed.millijoules - 44.2).abs() < 1e-9,
            "{:?}",
            r.tls
        );
        assert_eq!((r.tls.full.count, r.tls.resumed.count), (1, 1));
        assert_eq!((r.tls.full.round_trips, r.tls.resumed.round_trips), (2, 1));
        assert_eq!(r.tls_handshakes, 2);
        // The bytes are in the radio totals, priced once.
        assert_eq!((r.radio_bytes_sent, r.radio_bytes_received), (1200, 2300));
        assert!((r.radio_mj - (101.0 + 47.4 + 44.2)).abs() < 1e-9);
        assert!((r.total_mj - r.radio_mj).abs() < 1e-9);
    }

    #[test]
    fn a_tls_1_3_handshake_takes_one_round_trip_full_or_resumed() {
        assert_eq!(handshake(TlsVersion::Tls13, false, (0, 0)).round_trips(), 1);
        assert_eq!(handshake(TlsVersion::Tls13, true, (0, 0)).round_trips(), 1);
        assert_eq!(handshake(TlsVersion::Tls12, false, (0, 0)).round_trips(), 2);
        let fallback = HandshakeReport {
            attempts: 2,
            ..handshake(TlsVersion::Tls13, false, (0, 0))
        };
        assert_eq!(fallback.round_trips(), 2);
    }

    #[test]
    fn an_out_of_order_entry_counts_no_time() {
        let mut ledger = Ledger::new(Currents::default());
        ledger.enter(at(10, PowerMode::Idle));
        ledger.enter(at(5, PowerMode::Sleep1));
        let r = ledger.report(Duration::from_secs(7));
        assert_eq!(r.time_in(PowerMode::Idle), Duration::ZERO);
        assert_eq!(r.time_in(PowerMode::Sleep1), Duration::from_secs(2));
    }
}
