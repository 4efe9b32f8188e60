//! The energy ledger: how much charge the simulated module drew, from the
//! time it spent in each [`PowerMode`] (module time) times that state's
//! current, plus a radio cost per byte sent and received and per TLS
//! handshake. The one table of currents and costs is [`Currents`].
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
    /// One TLS handshake (crypto and the extra round trips), mJ.
    pub tls_handshake_mj: f64,
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
            // ASSUMPTION: ~4 kB exchanged over two extra round trips plus
            // ECDHE on the module's CPU.
            tls_handshake_mj: 60.0,
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
    pub tls_handshakes: u64,
    /// How often the module went Active (RRC connection set-ups).
    pub rrc_connections: u64,
    /// Energy of the bytes and handshakes (not in `per_state`).
    pub radio_mj: f64,
    pub total_mj: f64,
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
    tls_handshakes: u64,
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

    pub fn tls_handshake(&mut self) {
        self.tls_handshakes += 1;
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
        let radio_mj = (self.sent as f64 * c.sent_uj_per_byte
            + self.received as f64 * c.received_uj_per_byte)
            / 1000.0
            + self.tls_handshakes as f64 * c.tls_handshake_mj;
        let total_mj = per_state.iter().map(|s| s.millijoules).sum::<f64>() + radio_mj;
        EnergyReport {
            per_state,
            elapsed: time.iter().sum(),
            radio_bytes_sent: self.sent,
            radio_bytes_received: self.received,
            tls_handshakes: self.tls_handshakes,
            rrc_connections: self.rrc_connections,
            radio_mj,
            total_mj,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
