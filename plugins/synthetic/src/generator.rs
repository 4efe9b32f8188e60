//! The instance's sample stream: rounds of one sample per series (plus the
//! payload), urgency and timestamps, as plain values the SDK glue turns into
//! readings. Everything here is a pure function of the config and of how
//! many samples came before.

use crate::config::{Config, Timestamps};
use crate::pattern::{payload_bytes, SampleValue, SeriesState};

/// Which reading a sample is, with its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Slot {
    /// `config.series[index]`.
    Series { index: usize, value: SampleValue },
    /// The `payload` reading; its bytes are [`Generator::payload`].
    Payload,
}

/// One sample, ready to become a reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Which reading, with its value.
    pub slot: Slot,
    /// 0 when the host stamps it.
    pub timestamp_ns: i64,
    /// Marked `READING_URGENT` (`urgent_every`).
    pub urgent: bool,
}

/// Produces an instance's samples in order.
#[derive(Debug, Clone)]
pub struct Generator {
    config: Config,
    series: Vec<SeriesState>,
    payload: Vec<u8>,
    /// The sample index of the next round.
    next_sample: u64,
    /// Readings produced so far (for `urgent_every`).
    produced: u64,
}

impl Generator {
    /// A generator at sample 0.
    pub fn new(config: Config) -> Generator {
        let series = config
            .series
            .iter()
            .enumerate()
            .map(|(index, series)| SeriesState::new(series.shape, config.seed, index))
            .collect();
        let payload = payload_bytes(config.seed, config.payload_bytes);
        Generator {
            config,
            series,
            payload,
            next_sample: 0,
            produced: 0,
        }
    }

    /// The configuration it was made from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The bytes of every `payload` reading (they depend on the seed only,
    /// so a benchmark measures moving them, not making them).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Readings in one round: one per series, plus the payload when
    /// `with_payload` and `payload_bytes > 0`.
    pub fn round_len(&self, with_payload: bool) -> usize {
        self.series.len() + usize::from(with_payload && !self.payload.is_empty())
    }

    /// One poll's samples into `out` (cleared first): `per_poll` rounds,
    /// then one payload if configured.
    pub fn poll(&mut self, out: &mut Vec<Sample>) {
        out.clear();
        for _ in 0..self.config.per_poll {
            self.round(false, out);
        }
        if !self.payload.is_empty() {
            let timestamp_ns = self.timestamp(self.next_sample.saturating_sub(1));
            self.push(out, Slot::Payload, timestamp_ns);
        }
    }

    /// Appends one round to `out`: the next sample of every series, then
    /// the payload when `with_payload` and `payload_bytes > 0`.
    pub fn round(&mut self, with_payload: bool, out: &mut Vec<Sample>) {
        let sample = self.next_sample;
        let timestamp_ns = self.timestamp(sample);
        for index in 0..self.series.len() {
            let value = self.series[index].value_at(sample);
            self.push(out, Slot::Series { index, value }, timestamp_ns);
        }
        if with_payload && !self.payload.is_empty() {
            self.push(out, Slot::Payload, timestamp_ns);
        }
        self.next_sample += 1;
    }

    fn push(&mut self, out: &mut Vec<Sample>, slot: Slot, timestamp_ns: i64) {
        self.produced += 1;
        let every = self.config.urgent_every;
        out.push(Sample {
            slot,
            timestamp_ns,
            urgent: every > 0 && self.produced % every == 0,
        });
    }

    fn timestamp(&self, sample: u64) -> i64 {
        match self.config.timestamps {
            Timestamps::Host => 0,
            Timestamps::Synthetic { start_ns, step_ns } => {
                let offset = i64::try_from(sample)
                    .unwrap_or(i64::MAX)
                    .saturating_mul(step_ns);
                start_ns.saturating_add(offset)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator(json: &str) -> Generator {
        Generator::new(Config::from_json(json).unwrap())
    }

    fn value(slot: Slot) -> SampleValue {
        match slot {
            Slot::Series { value, .. } => value,
            Slot::Payload => panic!("expected a series, got the payload"),
        }
    }

    fn polls(json: &str, count: usize) -> Vec<Sample> {
        let mut generator = generator(json);
        let mut all = Vec::new();
        let mut out = Vec::new();
        for _ in 0..count {
            generator.poll(&mut out);
            all.extend_from_slice(&out);
        }
        all
    }

    const TWO_WALKS: &str = r#"{"seed": SEED, "series": [
        {"name": "a", "pattern": "random-walk", "amplitude": 10},
        {"name": "b", "pattern": "random-walk", "amplitude": 10}]}"#;

    #[test]
    fn same_seed_same_sequence_other_seed_other_sequence() {
        let with_seed = |seed: u64| TWO_WALKS.replace("SEED", &seed.to_string());
        let first = polls(&with_seed(1), 50);
        assert_eq!(first.len(), 100);
        assert_eq!(first, polls(&with_seed(1), 50));
        assert_ne!(first, polls(&with_seed(2), 50));
        let a: Vec<_> = first.iter().step_by(2).map(|s| value(s.slot)).collect();
        let b: Vec<_> = first
            .iter()
            .skip(1)
            .step_by(2)
            .map(|s| value(s.slot))
            .collect();
        assert_ne!(a, b, "two series of one seed differ");
    }

    #[test]
    fn polls_and_rounds_follow_the_same_stream() {
        let json = TWO_WALKS.replace("SEED", "5");
        let polled = polls(&json, 10);
        let mut rounds = generator(&json);
        let mut out = Vec::new();
        for _ in 0..10 {
            rounds.round(true, &mut out);
        }
        assert_eq!(polled, out);
    }

    #[test]
    fn per_poll_rounds_then_one_payload() {
        let mut g = generator(
            r#"{"per_poll": 3, "payload_bytes": 16,
                "series": [{"name": "a", "pattern": "counter"}, {"name": "b", "pattern": "constant"}]}"#,
        );
        let mut out = Vec::new();
        g.poll(&mut out);
        let slots: Vec<_> = out
            .iter()
            .map(|s| match s.slot {
                Slot::Series { index, .. } => Some(index),
                Slot::Payload => None,
            })
            .collect();
        assert_eq!(
            slots,
            vec![Some(0), Some(1), Some(0), Some(1), Some(0), Some(1), None]
        );
        let counts: Vec<_> = out
            .iter()
            .step_by(2)
            .take(3)
            .map(|s| value(s.slot))
            .collect();
        assert_eq!(
            counts,
            vec![
                SampleValue::I64(0),
                SampleValue::I64(1),
                SampleValue::I64(2)
            ]
        );
        assert_eq!(g.payload().len(), 16);
        g.poll(&mut out);
        assert_eq!(
            value(out[0].slot),
            SampleValue::I64(3),
            "the next poll goes on"
        );
        assert_eq!(g.round_len(true), 3);
        assert_eq!(g.round_len(false), 2);
    }

    #[test]
    fn every_nth_reading_is_urgent() {
        let samples = polls(r#"{"urgent_every": 3, "payload_bytes": 4}"#, 6);
        let urgent: Vec<_> = samples.iter().map(|s| s.urgent).collect();
        // Readings are temperature, payload, temperature, payload, ...
        assert_eq!(
            urgent,
            vec![false, false, true, false, false, true, false, false, true, false, false, true]
        );
        assert!(polls("{}", 10).iter().all(|s| !s.urgent));
    }

    #[test]
    fn host_time_is_zero_synthetic_time_steps() {
        assert!(polls("{}", 3).iter().all(|s| s.timestamp_ns == 0));
        let samples = polls(
            r#"{"timestamps": "synthetic", "start_ns": 1000, "step_ns": 10, "per_poll": 2,
                "payload_bytes": 1}"#,
            2,
        );
        let stamps: Vec<_> = samples.iter().map(|s| s.timestamp_ns).collect();
        // Two rounds and the payload (stamped like the poll's last round).
        assert_eq!(stamps, vec![1000, 1010, 1010, 1020, 1030, 1030]);
    }

    #[test]
    fn synthetic_time_saturates_instead_of_wrapping() {
        let mut g = generator(
            r#"{"timestamps": "synthetic", "start_ns": 9223372036854775000, "step_ns": 1000}"#,
        );
        let mut out = Vec::new();
        g.poll(&mut out);
        g.poll(&mut out);
        assert_eq!(out[0].timestamp_ns, i64::MAX);
    }
}
