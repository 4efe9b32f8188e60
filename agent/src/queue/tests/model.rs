//! A model-based property test: random sequences of appends, leases, acks,
//! releases, dead letters, clock advances (lease timeouts, expiry),
//! restarts and cap overflows run against the real queue and against a
//! plain in-memory model of what the queue promises. After every step the
//! two must agree on the pending readings and their order, the dead
//! letters, the leased readings, every counter, and what each lease held;
//! and sequence numbers only grow.
//!
//! The model is written from the rules in the module docs, not from the
//! code: a `BTreeMap` of pending readings, one of dead letters, a leased
//! map, the counters. It shares only `Queue::stored_size` (the byte size
//! the bounds count, whose layout the record tests pin down).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;

use super::super::*;
use crate::reading::Value;

/// 2025-01-01T00:00:00Z.
const START_MS: u64 = 1_735_689_600_000;
const LEASE_TIMEOUT_MS: u64 = 5_000;
const MAX_AGE_MS: u64 = 20_000;

#[derive(Debug, Clone)]
enum Op {
    /// Readings with string values of these lengths (varying sizes).
    Append(Vec<u8>),
    Lease {
        max: usize,
        max_bytes: Option<u64>,
    },
    /// An index into every lease handed out so far (stale ones too: late
    /// and repeated answers are part of the contract).
    Ack(usize),
    Release(usize),
    DeadLetter(usize),
    Advance(u64),
    Maintain,
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => proptest::collection::vec(0u8..48, 1..6).prop_map(Op::Append),
        3 => (1usize..6, proptest::option::of(80u64..400))
            .prop_map(|(max, max_bytes)| Op::Lease { max, max_bytes }),
        3 => any::<usize>().prop_map(Op::Ack),
        1 => any::<usize>().prop_map(Op::Release),
        1 => any::<usize>().prop_map(Op::DeadLetter),
        // Whole seconds mostly, so that ages and deadlines land exactly on
        // their limits (5 s, 20 s) often; odd milliseconds sometimes.
        2 => (0u64..9).prop_map(|s| Op::Advance(s * 1_000)),
        1 => (0u64..8_000).prop_map(Op::Advance),
        1 => Just(Op::Maintain),
        1 => Just(Op::Restart),
    ]
}

fn reading(n: u64, len: u8) -> Reading {
    Reading {
        source: "model".into(),
        name: format!("sensor{}/value", n % 5),
        unit: (n % 2 == 0).then(|| "Cel".to_owned()),
        value: Value::Str("x".repeat(usize::from(len))),
        timestamp_ns: n as i64,
        tags: BTreeMap::new(),
    }
}

/// What the queue promises, in the plainest terms.
#[derive(Debug)]
struct Model {
    /// seq → (reading, enqueued at, stored size)
    pending: BTreeMap<u64, (Reading, u64, u64)>,
    /// seq → (enqueued at of the reading, stored size)
    dead: BTreeMap<u64, (u64, u64)>,
    /// seq → (lease id, deadline on the monotonic clock)
    leased: BTreeMap<u64, (u64, u64)>,
    counters: Counters,
    now_ms: u64,
    mono_ms: u64,
    options: Options,
}

impl Model {
    fn used(&self) -> u64 {
        self.counters.pending_bytes + self.counters.dead_bytes
    }

    fn housekeep(&mut self) {
        let mono = self.mono_ms;
        self.leased.retain(|_, (_, deadline)| *deadline > mono);
        self.expire();
    }

    fn expire(&mut self) {
        let now = self.now_ms;
        while let Some((&seq, &(_, at, size))) = self.pending.first_key_value() {
            if now - at < MAX_AGE_MS {
                break;
            }
            self.pending.remove(&seq);
            self.leased.remove(&seq);
            self.counters.pending_count -= 1;
            self.counters.pending_bytes -= size;
            self.counters.expired += 1;
        }
        while let Some((&seq, &(at, size))) = self.dead.first_key_value() {
            if now - at < MAX_AGE_MS {
                break;
            }
            self.dead.remove(&seq);
            self.counters.dead_count -= 1;
            self.counters.dead_bytes -= size;
            self.counters.dead_expired += 1;
        }
    }

    /// Returns the seqs given (None = rejected).
    fn append(&mut self, readings: &[Reading]) -> Vec<Option<u64>> {
        self.housekeep();
        let max = self.options.max_bytes;
        let mut out = Vec::new();
        for r in readings {
            let size = Queue::stored_size(r);
            if size > max {
                self.counters.rejected += 1;
                out.push(None);
                continue;
            }
            while self.used() + size > max {
                if let Some((_, (_, dsize))) = self.dead.pop_first() {
                    self.counters.dead_count -= 1;
                    self.counters.dead_bytes -= dsize;
                    self.counters.dead_dropped += 1;
                } else if self.options.on_full == OnFull::DropOldest && !self.pending.is_empty() {
                    if let Some((seq, (_, _, psize))) = self.pending.pop_first() {
                        self.leased.remove(&seq);
                        self.counters.pending_count -= 1;
                        self.counters.pending_bytes -= psize;
                        self.counters.dropped += 1;
                    }
                } else {
                    break;
                }
            }
            if self.used() + size > max {
                self.counters.rejected += 1;
                out.push(None);
                continue;
            }
            let seq = self.counters.next_seq;
            self.counters.next_seq += 1;
            self.pending.insert(seq, (r.clone(), self.now_ms, size));
            self.counters.pending_count += 1;
            self.counters.pending_bytes += size;
            self.counters.appended += 1;
            out.push(Some(seq));
        }
        out
    }

    /// The seqs a lease should hold.
    fn lease(&mut self, id: u64, max: usize, max_bytes: Option<u64>) -> Vec<u64> {
        self.housekeep();
        let mut out = Vec::new();
        let mut total = 0;
        for (&seq, &(_, _, size)) in &self.pending {
            if self.leased.contains_key(&seq) {
                continue;
            }
            if !out.is_empty() && max_bytes.is_some_and(|m| total + size > m) {
                break;
            }
            total += size;
            out.push(seq);
            if out.len() >= max {
                break;
            }
        }
        for &seq in &out {
            self.leased
                .insert(seq, (id, self.mono_ms + LEASE_TIMEOUT_MS));
        }
        out
    }

    fn ack(&mut self, seqs: &[u64]) -> usize {
        let mut n = 0;
        for seq in seqs {
            if let Some((_, _, size)) = self.pending.remove(seq) {
                self.counters.pending_count -= 1;
                self.counters.pending_bytes -= size;
                self.counters.acked += 1;
                n += 1;
            }
            self.leased.remove(seq);
        }
        n
    }

    fn release(&mut self, id: u64, seqs: &[u64]) -> usize {
        let mut n = 0;
        for seq in seqs {
            if self
                .leased
                .get(seq)
                .is_some_and(|(holder, _)| *holder == id)
            {
                self.leased.remove(seq);
                n += 1;
            }
        }
        n
    }

    fn dead_letter(&mut self, seqs: &[u64], reason: &str) -> usize {
        let mut n = 0;
        for seq in seqs {
            if let Some((_, at, size)) = self.pending.remove(seq) {
                // The layout: version, time, reason (one length byte below
                // 128), then the reading's record.
                let dsize = size + 1 + 8 + 1 + reason.len() as u64;
                self.dead.insert(*seq, (at, dsize));
                self.counters.pending_count -= 1;
                self.counters.pending_bytes -= size;
                self.counters.dead_count += 1;
                self.counters.dead_bytes += dsize;
                self.counters.dead_lettered += 1;
                n += 1;
            }
            self.leased.remove(seq);
        }
        n
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    clock: ManualClock,
    queue: Option<Queue>,
    model: Model,
    /// Every lease handed out: (id, seqs, the lease itself).
    leases: Vec<Lease>,
    readings_made: u64,
    last_seq: Option<u64>,
}

impl Harness {
    fn new(options: Options) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue");
        let clock = ManualClock::new(START_MS);
        let mut h = Harness {
            _dir: dir,
            path,
            clock,
            queue: None,
            model: Model {
                pending: BTreeMap::new(),
                dead: BTreeMap::new(),
                leased: BTreeMap::new(),
                // A new store numbers from the clock in microseconds.
                counters: Counters {
                    next_seq: START_MS * 1_000,
                    ..Counters::default()
                },
                now_ms: START_MS,
                mono_ms: 0,
                options,
            },
            leases: Vec::new(),
            readings_made: 0,
            last_seq: None,
        };
        h.reopen();
        h
    }

    fn queue(&self) -> &Queue {
        self.queue.as_ref().unwrap()
    }

    fn reopen(&mut self) {
        drop(self.queue.take());
        self.queue = Some(
            Queue::open_with(
                &self.path,
                self.model.options.clone(),
                Arc::new(self.clock.clone()),
                OpenMode::Agent,
            )
            .unwrap(),
        );
        self.model.leased.clear();
        // Opening never numbers below the clock, in microseconds.
        let floor = self.model.now_ms * 1_000;
        self.model.counters.next_seq = self.model.counters.next_seq.max(floor);
        self.model.expire();
    }

    fn pick(&self, i: usize) -> Option<Lease> {
        (!self.leases.is_empty()).then(|| self.leases[i % self.leases.len()].clone())
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Append(lens) => {
                let batch: Vec<Reading> = lens
                    .iter()
                    .map(|&len| {
                        self.readings_made += 1;
                        reading(self.readings_made, len)
                    })
                    .collect();
                let got = self.queue().append(&batch).unwrap();
                let expected = self.model.append(&batch);
                prop_assert_eq!(&got.seqs, &expected);
                for seq in got.stored() {
                    prop_assert!(self.last_seq.is_none_or(|last| seq > last));
                    self.last_seq = Some(seq);
                }
            }
            Op::Lease { max, max_bytes } => {
                let lease = self.queue().lease(*max, *max_bytes).unwrap();
                let expected = self.model.lease(lease.id(), *max, *max_bytes);
                prop_assert_eq!(lease.seqs().collect::<Vec<_>>(), expected.clone());
                for r in lease.readings() {
                    prop_assert_eq!(&r.reading, &self.model.pending[&r.seq].0);
                }
                if !lease.is_empty() {
                    self.leases.push(lease);
                }
            }
            Op::Ack(i) => {
                if let Some(lease) = self.pick(*i) {
                    let seqs: Vec<u64> = lease.seqs().collect();
                    let got = self.queue().ack(lease).unwrap();
                    prop_assert_eq!(got, self.model.ack(&seqs));
                }
            }
            Op::Release(i) => {
                if let Some(lease) = self.pick(*i) {
                    let seqs: Vec<u64> = lease.seqs().collect();
                    let id = lease.id();
                    let got = self.queue().release(lease);
                    prop_assert_eq!(got, self.model.release(id, &seqs));
                }
            }
            Op::DeadLetter(i) => {
                if let Some(lease) = self.pick(*i) {
                    let seqs: Vec<u64> = lease.seqs().collect();
                    let got = self.queue().dead_letter(lease, "422 rejected").unwrap();
                    prop_assert_eq!(got, self.model.dead_letter(&seqs, "422 rejected"));
                }
            }
            Op::Advance(ms) => {
                self.clock.advance(Duration::from_millis(*ms));
                self.model.now_ms += ms;
                self.model.mono_ms += ms;
            }
            Op::Maintain => {
                self.queue().maintain().unwrap();
                self.model.housekeep();
            }
            Op::Restart => self.reopen(),
        }
        self.check()
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let q = self.queue();
        let pending: Vec<(u64, Reading)> = q
            .pending()
            .map(|p| p.map(|p| (p.seq, p.reading)))
            .collect::<Result<_, _>>()
            .unwrap();
        let expected: Vec<(u64, Reading)> = self
            .model
            .pending
            .iter()
            .map(|(seq, (r, _, _))| (*seq, r.clone()))
            .collect();
        prop_assert_eq!(pending, expected);
        let dead: Vec<u64> = q.dead_letters().map(|d| d.unwrap().seq).collect();
        prop_assert_eq!(dead, self.model.dead.keys().copied().collect::<Vec<_>>());
        prop_assert_eq!(
            q.leased_seqs(),
            self.model.leased.keys().copied().collect::<Vec<_>>()
        );
        let stats = q.stats().unwrap();
        prop_assert_eq!(stats.counters, self.model.counters);
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_queue_agrees_with_its_model_after_every_step(
        ops in proptest::collection::vec(op(), 1..60),
        max_bytes in 300u64..1_500,
        reject_new in any::<bool>(),
    ) {
        let options = Options {
            sync: SyncPolicy::Batch,
            max_bytes,
            on_full: if reject_new { OnFull::RejectNew } else { OnFull::DropOldest },
            max_age: Duration::from_millis(MAX_AGE_MS),
            lease_timeout: Duration::from_millis(LEASE_TIMEOUT_MS),
        };
        let mut h = Harness::new(options);
        for op in &ops {
            h.step(op)?;
        }
        // And once more after a final restart: nothing acked comes back,
        // nothing pending is lost.
        h.reopen();
        h.check()?;
    }
}
