//! The shape of one synthetic series: its value at each sample index, a pure
//! function of (seed, series index, sample index), plus the small PRNG that
//! the random walk and the payload draw from.

use serde::Deserialize;

/// How a series' value moves with the sample index `i` (period `P`,
/// amplitude `A`, offset `O`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    /// `O + A·sin(2π·i/P)`.
    Sine,
    /// Rises linearly from `O − A` towards `O + A` over `P` samples, then drops.
    Sawtooth,
    /// `O + A` for the first half of each period, `O − A` for the second.
    Square,
    /// Starts at `O`, moves by a uniform step of at most `2A/P` per sample,
    /// reflected at `O ± A` so it stays in bounds.
    RandomWalk,
    /// An integer: `round(O) + i`. Ignores `P` and `A`.
    Counter,
    /// `O`.
    Constant,
}

/// One series' pattern with its parameters (already validated: `period >= 1`,
/// `amplitude >= 0`, both finite).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Which curve.
    pub pattern: Pattern,
    /// Samples per cycle (`P`).
    pub period: u64,
    /// Half the peak-to-peak swing (`A`).
    pub amplitude: f64,
    /// The centre of the swing (`O`).
    pub offset: f64,
}

/// A sample's value before it becomes an SDK reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SampleValue {
    /// Every pattern but `counter`.
    F64(f64),
    /// `counter`.
    I64(i64),
}

/// A series' value at successive sample indexes. The random walk depends on
/// every step before `i`, so the state remembers where it is; asking for an
/// earlier index replays from 0, which keeps the result a pure function of
/// (seed, series index, sample index).
#[derive(Debug, Clone)]
pub struct SeriesState {
    shape: Shape,
    key: u64,
    walk_next: u64,
    walk_position: f64,
}

impl SeriesState {
    /// The series `series_index` of an instance seeded with `seed`.
    pub fn new(shape: Shape, seed: u64, series_index: usize) -> SeriesState {
        SeriesState {
            shape,
            key: mix(seed ^ mix(series_index as u64 ^ SERIES_KEY)),
            walk_next: 0,
            walk_position: shape.offset,
        }
    }

    /// The value at sample index `i`.
    pub fn value_at(&mut self, i: u64) -> SampleValue {
        let Shape {
            pattern,
            period,
            amplitude,
            offset,
        } = self.shape;
        let phase = (i % period) as f64 / period as f64;
        let value = match pattern {
            Pattern::Sine => offset + amplitude * (core::f64::consts::TAU * phase).sin(),
            Pattern::Sawtooth => offset - amplitude + 2.0 * amplitude * phase,
            Pattern::Square if (i % period) * 2 < period => offset + amplitude,
            Pattern::Square => offset - amplitude,
            Pattern::RandomWalk => self.walk_to(i),
            Pattern::Counter => {
                let start = offset.round() as i64;
                return SampleValue::I64(start.saturating_add_unsigned(i));
            }
            Pattern::Constant => offset,
        };
        SampleValue::F64(value)
    }

    fn walk_to(&mut self, i: u64) -> f64 {
        if i < self.walk_next {
            self.walk_next = 0;
            self.walk_position = self.shape.offset;
        }
        let Shape {
            period,
            amplitude,
            offset,
            ..
        } = self.shape;
        let (low, high) = (offset - amplitude, offset + amplitude);
        let max_step = 2.0 * amplitude / period as f64;
        // Position at sample 0 is the offset; each later sample takes one step.
        if self.walk_next == 0 {
            self.walk_next = 1;
        }
        while self.walk_next <= i {
            let step = (2.0 * unit_interval(mix(self.key ^ self.walk_next)) - 1.0) * max_step;
            let mut position = self.walk_position + step;
            // A step is at most the whole range (2A), so one reflection
            // brings it back; the clamp only absorbs rounding.
            if position > high {
                position = 2.0 * high - position;
            } else if position < low {
                position = 2.0 * low - position;
            }
            self.walk_position = position.clamp(low, high);
            self.walk_next += 1;
        }
        self.walk_position
    }
}

/// `len` bytes that depend only on `seed`: the payload of the `payload`
/// reading.
pub fn payload_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed ^ PAYLOAD_KEY;
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        state = state.wrapping_add(GOLDEN_GAMMA);
        let word = mix(state).to_le_bytes();
        let take = (len - bytes.len()).min(word.len());
        bytes.extend_from_slice(&word[..take]);
    }
    bytes
}

// Distinct keys so a series' stream and the payload's never coincide for
// the same seed.
const SERIES_KEY: u64 = 0x5EED_5E21_E500_0001;
const PAYLOAD_KEY: u64 = 0x9A71_0AD0_0000_0002;
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// splitmix64's finaliser: a bijective mix whose outputs for consecutive
/// inputs are independent enough for synthetic data (and needs no state, so
/// any sample can be computed without the ones before it).
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(GOLDEN_GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform value in `[0, 1)` from the top 53 bits.
fn unit_interval(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(pattern: Pattern, period: u64) -> Shape {
        Shape {
            pattern,
            period,
            amplitude: 5.0,
            offset: 20.0,
        }
    }

    fn f64s(state: &mut SeriesState, count: u64) -> Vec<f64> {
        (0..count)
            .map(|i| match state.value_at(i) {
                SampleValue::F64(v) => v,
                SampleValue::I64(v) => panic!("expected a number, got the integer {v}"),
            })
            .collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn sine_repeats_each_period_and_peaks_at_a_quarter() {
        let mut s = SeriesState::new(shape(Pattern::Sine, 8), 1, 0);
        let v = f64s(&mut s, 16);
        assert!(close(v[0], 20.0), "{v:?}");
        assert!(close(v[2], 25.0), "quarter period is the peak: {v:?}");
        assert!(close(v[6], 15.0), "three quarters is the trough: {v:?}");
        for i in 0..8 {
            assert!(close(v[i], v[i + 8]), "period 8: {v:?}");
        }
    }

    #[test]
    fn sawtooth_rises_then_drops_within_bounds() {
        let mut s = SeriesState::new(shape(Pattern::Sawtooth, 4), 1, 0);
        let v = f64s(&mut s, 8);
        assert_eq!(v, vec![15.0, 17.5, 20.0, 22.5, 15.0, 17.5, 20.0, 22.5]);
    }

    #[test]
    fn square_is_high_for_the_first_half() {
        let mut s = SeriesState::new(shape(Pattern::Square, 4), 1, 0);
        assert_eq!(
            f64s(&mut s, 8),
            vec![25.0, 25.0, 15.0, 15.0, 25.0, 25.0, 15.0, 15.0]
        );
        // An odd period: the high half gets the middle sample.
        let mut s = SeriesState::new(shape(Pattern::Square, 3), 1, 0);
        assert_eq!(f64s(&mut s, 3), vec![25.0, 25.0, 15.0]);
    }

    #[test]
    fn random_walk_stays_in_bounds_and_moves() {
        let mut s = SeriesState::new(shape(Pattern::RandomWalk, 2), 7, 0);
        let v = f64s(&mut s, 10_000);
        assert_eq!(v[0], 20.0, "starts at the offset");
        assert!(v.iter().all(|x| (15.0..=25.0).contains(x)), "out of 20±5");
        let max_step = v
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0, f64::max);
        assert!(max_step <= 5.0 + 1e-9, "a step is at most 2A/P: {max_step}");
        assert!(max_step > 0.5, "it should move: {max_step}");
        let (low, high) = v
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), x| (l.min(*x), h.max(*x)));
        assert!(
            low < 16.0 && high > 24.0,
            "it should roam the range: {low}..{high}"
        );
    }

    #[test]
    fn random_walk_is_a_function_of_the_index_even_out_of_order() {
        let mut sequential = SeriesState::new(shape(Pattern::RandomWalk, 10), 3, 2);
        let expected = f64s(&mut sequential, 50);
        let mut jumping = SeriesState::new(shape(Pattern::RandomWalk, 10), 3, 2);
        for i in [49, 3, 17, 0, 48] {
            assert_eq!(jumping.value_at(i), SampleValue::F64(expected[i as usize]));
        }
    }

    #[test]
    fn counter_counts_from_the_offset() {
        let mut s = SeriesState::new(shape(Pattern::Counter, 1), 1, 0);
        let v: Vec<_> = (0..3).map(|i| s.value_at(i)).collect();
        assert_eq!(
            v,
            vec![
                SampleValue::I64(20),
                SampleValue::I64(21),
                SampleValue::I64(22)
            ]
        );
        assert_eq!(s.value_at(u64::MAX), SampleValue::I64(i64::MAX));
    }

    #[test]
    fn constant_is_the_offset() {
        let mut s = SeriesState::new(shape(Pattern::Constant, 3), 1, 0);
        assert_eq!(f64s(&mut s, 4), vec![20.0; 4]);
    }

    #[test]
    fn seeds_and_series_indexes_give_different_walks() {
        let walk = |seed, index| {
            let mut s = SeriesState::new(shape(Pattern::RandomWalk, 10), seed, index);
            f64s(&mut s, 20)
        };
        assert_eq!(walk(1, 0), walk(1, 0));
        assert_ne!(walk(1, 0), walk(2, 0));
        assert_ne!(walk(1, 0), walk(1, 1));
    }

    #[test]
    fn payload_depends_on_the_seed_only() {
        assert_eq!(payload_bytes(9, 37), payload_bytes(9, 37));
        assert_eq!(payload_bytes(9, 37).len(), 37);
        assert_eq!(&payload_bytes(9, 40)[..37], &payload_bytes(9, 37)[..]);
        assert_ne!(payload_bytes(9, 37), payload_bytes(10, 37));
        assert!(payload_bytes(9, 0).is_empty());
    }
}
