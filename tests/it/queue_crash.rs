//! The queue killed with SIGKILL at random moments, many times over.
//!
//! The child is this test binary itself, re-executed to run one test,
//! [`the_append_and_ack_loop_keeps_its_invariants`], with
//! `QUEUE_CRASH_TEST_CHILD_DIR` set: it then appends and acks on the given
//! queue until killed, reporting on stdout (one line per event, written
//! after the event is durable) every sequence number it appended and
//! flushed, and every one it acked (announced before the ack too, since a
//! kill can fall between the ack and its report). Run normally, the same test runs the
//! same loop a bounded number of times in-process and checks the same
//! invariants, so it is a real test either way.
//!
//! After every kill the parent opens the queue as the agent would and
//! checks: every reported appended-and-flushed reading not acked (nor
//! being acked at the kill) is still there, no reported acked reading is, the persisted counters
//! match the data, and every sequence number ever seen (reported, or found
//! on disk) is below any the next child hands out. The kill delays come
//! from a fixed seed; where exactly the kill lands in the child still
//! depends on the machine's timing, which is the point.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use edge_agent::queue::{ManualClock, OnFull, Options, Queue, SyncPolicy};
use edge_agent::reading::{Reading, Value};
use edge_agent::store::{OpenMode, TreeId, WriteSet};

/// Set (to the queue's directory) in the child process.
pub(crate) const CHILD_ENV: &str = "QUEUE_CRASH_TEST_CHILD_DIR";
/// The child's random seed.
pub(crate) const SEED_ENV: &str = "QUEUE_CRASH_TEST_SEED";
/// The child's test, as the harness names it.
pub(crate) const CHILD_TEST: &str = "queue_crash::the_append_and_ack_loop_keeps_its_invariants";
/// The children's wall clock: 2025-01-01T00:00:00Z, standing still.
const CLOCK_MS: u64 = 1_735_689_600_000;
/// How many times the child is killed.
const KILLS: u64 = 100;

/// The key the child keeps its state value under in the `modem` tree.
const STATE_KEY: &[u8] = b"crash-test-state";

/// xorshift64*: small, seeded, good enough to pick sizes and delays.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn options() -> Options {
    Options {
        // One flush per appended batch: "appended" is reported only after
        // append returned, so it is durable.
        sync: SyncPolicy::Batch,
        max_bytes: 64 << 20,
        // Never expected to trigger: a rejection would fail the checks.
        on_full: OnFull::RejectNew,
        max_age: Duration::from_secs(10 * 365 * 86_400),
        lease_timeout: Duration::from_secs(3_600),
    }
}

fn reading(rng: &mut Rng, n: u64) -> Reading {
    let sensor = ["temperature", "humidity", "pressure", "voltage", "rssi"][(n % 5) as usize];
    Reading {
        source: "bme280".into(),
        name: format!("bme280/{sensor}"),
        unit: Some("Cel".into()),
        value: Value::F64(rng.below(10_000) as f64 / 100.0),
        timestamp_ns: 1_735_689_600_000_000_000 + n as i64,
        tags: BTreeMap::from([("site".into(), "a".into())]),
    }
}

/// The child's loop: append a batch, then lease and (mostly) ack. Each
/// event is reported after it is durable. Runs `iterations` times, or
/// forever.
fn child_loop(dir: &Path, seed: u64, iterations: Option<u64>, out: &mut dyn Write) {
    // A clock that stands still: sequence numbers never fall below the
    // clock, and a moving one would hide a store that forgot its numbers.
    let clock = Arc::new(ManualClock::new(CLOCK_MS));
    let q = Queue::open_with(dir, options(), clock, OpenMode::Agent).unwrap();
    // The harness has written "test <name> ... " without a newline: end
    // that line so that every event starts one.
    writeln!(out).unwrap();
    writeln!(out, "open {}", q.stats().unwrap().counters.next_seq).unwrap();
    let mut rng = Rng::new(seed);
    let mut made = 0;
    let mut i = 0;
    while iterations.is_none_or(|n| i < n) {
        i += 1;
        let batch: Vec<Reading> = (0..1 + rng.below(20))
            .map(|_| {
                made += 1;
                reading(&mut rng, made)
            })
            .collect();
        let appended = q.append(&batch).unwrap();
        assert!(appended.durable);
        let seqs: Vec<String> = appended.stored().map(|s| s.to_string()).collect();
        writeln!(out, "appended {}", seqs.join(" ")).unwrap();

        if rng.below(10) == 0 {
            // Other state the agent relies on after a reboot (a profile
            // digest): committed, flushed, then reported. The queue's next
            // sequence number: it only grows, across children too.
            let value = q.stats().unwrap().counters.next_seq;
            let mut writes = WriteSet::new();
            writes.insert(TreeId::Modem, STATE_KEY, value.to_be_bytes().to_vec());
            q.store().commit(&writes).unwrap();
            q.store().flush().unwrap();
            writeln!(out, "kept {value}").unwrap();
        }

        if rng.below(10) < 8 {
            let lease = q.lease(1 + rng.below(30) as usize, None).unwrap();
            if lease.is_empty() {
                continue;
            }
            if rng.below(4) < 3 {
                let seqs: Vec<String> = lease.seqs().map(|s| s.to_string()).collect();
                // Said before the ack: a kill between the ack's flush and
                // the "acked" line leaves these either there or gone.
                writeln!(out, "acking {}", seqs.join(" ")).unwrap();
                q.ack(lease).unwrap();
                writeln!(out, "acked {}", seqs.join(" ")).unwrap();
            } else {
                q.release(lease);
            }
        }
    }
}

/// What the children reported, and what has been seen on disk.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub(crate) flushed: BTreeSet<u64>,
    /// Being acked when a child was killed: may be there or gone.
    acking: BTreeSet<u64>,
    pub(crate) acked: BTreeSet<u64>,
    /// The largest sequence number seen anywhere so far.
    max_seen: Option<u64>,
    pub(crate) opens: u64,
    /// The last state value reported kept: the store holds it or a later
    /// one (values only grow).
    pub(crate) kept: Option<u64>,
}

impl Ledger {
    fn seen(&mut self, seq: u64) {
        self.max_seen = Some(self.max_seen.map_or(seq, |m| m.max(seq)));
    }

    /// Takes in one child's complete lines, checking that numbers only grow.
    pub(crate) fn read(&mut self, lines: &[String]) {
        for line in lines {
            let mut words = line.split(' ');
            let numbers = |words: std::str::Split<'_, char>| -> Vec<u64> {
                words
                    .filter(|w| !w.is_empty())
                    .map(|w| w.parse().unwrap())
                    .collect()
            };
            match words.next() {
                Some("open") => {
                    let next = numbers(words)[0];
                    assert!(
                        self.max_seen.is_none_or(|m| next > m),
                        "reopened at {next}, but {:?} was seen before",
                        self.max_seen
                    );
                    self.opens += 1;
                }
                Some("appended") => {
                    for seq in numbers(words) {
                        assert!(
                            self.max_seen.is_none_or(|m| seq > m),
                            "appended {seq} after {:?} was seen",
                            self.max_seen
                        );
                        self.seen(seq);
                        self.flushed.insert(seq);
                    }
                }
                Some("acking") => self.acking.extend(numbers(words)),
                Some("acked") => self.acked.extend(numbers(words)),
                Some("kept") => self.kept = numbers(words).first().copied(),
                // The test harness's own lines.
                _ => {}
            }
        }
    }

    /// Opens the queue as the agent would and checks it against the ledger.
    pub(crate) fn check(&mut self, dir: &Path) {
        let clock = Arc::new(ManualClock::new(CLOCK_MS));
        let q = Queue::open_with(dir, options(), clock, OpenMode::Agent).unwrap();
        assert!(q.recovery().moved_aside.is_none(), "{:?}", q.recovery());
        assert_eq!(q.recovery().corrupt_moved, 0);
        let on_disk: BTreeSet<u64> = q.pending().map(|p| p.unwrap().seq).collect();
        for seq in self.flushed.difference(&self.acked) {
            if !self.acking.contains(seq) {
                assert!(on_disk.contains(seq), "flushed reading {seq} is missing");
            }
        }
        for seq in &self.acked {
            assert!(!on_disk.contains(seq), "acked reading {seq} came back");
        }
        let stats = q.stats().unwrap();
        assert_eq!(stats.counters.pending_count, on_disk.len() as u64);
        assert!(!q.recovery().recounted, "counters disagreed with the data");
        assert_eq!((stats.counters.rejected, stats.counters.dropped), (0, 0));
        if let Some(kept) = self.kept {
            let value = q.store().get(TreeId::Modem, STATE_KEY).unwrap();
            let value = value.map(|v| u64::from_be_bytes(v.try_into().unwrap()));
            assert!(
                value.is_some_and(|v| v >= kept),
                "the state value {kept} was flushed, the store holds {value:?}"
            );
        }
        if let Some(&max) = on_disk.last() {
            self.seen(max);
        }
    }
}

/// Complete lines (a line cut by the kill has no newline and is dropped).
pub(crate) fn complete_lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    complete.lines().map(str::to_owned).collect()
}

#[test]
fn the_append_and_ack_loop_keeps_its_invariants() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        // The child: run until killed.
        let seed = std::env::var(SEED_ENV).unwrap().parse().unwrap();
        child_loop(Path::new(&dir), seed, None, &mut std::io::stdout());
        unreachable!("the child loop ends only when it is killed");
    }
    let dir = tempfile::tempdir().unwrap();
    let queue_dir = dir.path().join("queue");
    let mut ledger = Ledger::default();
    for run in 0..3 {
        let mut out = Vec::new();
        child_loop(&queue_dir, run, Some(150), &mut out);
        ledger.read(&complete_lines(&out));
        ledger.check(&queue_dir);
    }
    // Without a crash, nothing but what was acked is gone.
    let clock = Arc::new(ManualClock::new(CLOCK_MS));
    let q = Queue::open_with(&queue_dir, options(), clock, OpenMode::Agent).unwrap();
    let on_disk: BTreeSet<u64> = q.pending().map(|p| p.unwrap().seq).collect();
    let expected: BTreeSet<u64> = ledger.flushed.difference(&ledger.acked).copied().collect();
    assert_eq!(on_disk, expected);
    assert!(ledger.acked.len() > 100, "the loop hardly acked anything");
    assert!(ledger.kept.is_some(), "the loop never kept its state value");
}

/// A child running [`child_loop`] until it is killed, with a thread that
/// collects what it reports.
pub(crate) struct CrashChild {
    child: std::process::Child,
    opened: mpsc::Receiver<()>,
    reader: std::thread::JoinHandle<Vec<u8>>,
}

impl CrashChild {
    /// Starts the child on the queue in `queue_dir`.
    pub(crate) fn spawn(queue_dir: &Path, seed: u64) -> CrashChild {
        let exe = std::env::current_exe().unwrap();
        let mut child = Command::new(&exe)
            .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, queue_dir)
            .env(SEED_ENV, seed.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        // Signals when the queue is open, then keeps reading until the
        // kill closes the pipe.
        let (opened_tx, opened) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let mut buffered = BufReader::new(&mut stdout);
            let mut line = Vec::new();
            while buffered.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                if line.starts_with(b"open ") {
                    let _ = opened_tx.send(());
                }
                bytes.append(&mut line);
            }
            bytes
        });
        CrashChild {
            child,
            opened,
            reader,
        }
    }

    /// Waits until the child has opened its queue (a guard against a hung
    /// child, not a timing assertion).
    pub(crate) fn wait_open(&mut self, what: &str) {
        if self.opened.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = self.child.kill();
            let out = self.child.stderr.take().map(std::io::read_to_string);
            panic!("{what}: the child never opened the queue:\n{out:?}");
        }
    }

    /// SIGKILLs the child (which must still be running) and returns the
    /// complete lines it reported.
    pub(crate) fn kill(mut self, what: &str) -> Vec<String> {
        if let Some(status) = self.child.try_wait().unwrap() {
            let out = self.child.stderr.take().map(std::io::read_to_string);
            panic!("{what}: the child exited by itself ({status}):\n{out:?}");
        }
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
        complete_lines(&self.reader.join().unwrap())
    }
}

#[test]
fn a_queue_killed_at_random_moments_keeps_every_flushed_reading_and_no_acked_one() {
    let dir = tempfile::tempdir().unwrap();
    let queue_dir = dir.path().join("queue");
    let mut rng = Rng::new(0x5EED_0003);
    let mut ledger = Ledger::default();
    let mut killed_before_open = 0;
    for round in 0..KILLS {
        let mut child = CrashChild::spawn(&queue_dir, round);
        let what = format!("round {round}");
        // A quarter of the kills may land while the queue is still opening
        // (recovery); the rest while it appends and acks.
        if rng.below(4) == 0 {
            std::thread::sleep(Duration::from_millis(rng.below(40)));
        } else {
            child.wait_open(&what);
            std::thread::sleep(Duration::from_millis(rng.below(50)));
        }
        let lines = child.kill(&what);
        if !lines.iter().any(|l| l.starts_with("open ")) {
            killed_before_open += 1;
        }
        ledger.read(&lines);
        ledger.check(&queue_dir);
    }
    // The test is only worth something if the children got work done.
    assert!(ledger.opens >= KILLS / 2, "{} opens", ledger.opens);
    assert!(
        ledger.flushed.len() > 1_000,
        "{} flushed",
        ledger.flushed.len()
    );
    assert!(ledger.acked.len() > 500, "{} acked", ledger.acked.len());
    eprintln!(
        "{KILLS} kills ({killed_before_open} before the queue was open): {} readings appended \
         and flushed, {} acked",
        ledger.flushed.len(),
        ledger.acked.len()
    );
}
