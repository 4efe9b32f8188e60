//! Draining the queue through a transport: lease the oldest readings, pack
//! as many as fit in one message, send it, and settle the lease by what the
//! far end said.
//!
//! - confirmed: ack exactly the readings the message carried, release the
//!   rest of the lease (they start the next message);
//! - failed for now (no session, no confirmation in time, connection lost):
//!   release everything and stop; the readings stay pending and go out in a
//!   later attempt (at-least-once: a message whose confirmation was lost may
//!   arrive twice, and its sequence numbers let the consumer drop the copy);
//! - rejected for good by the server: dead-letter exactly those readings;
//! - a reading that can never be sent (larger than a message on its own, or
//!   not representable in the encoding): dead-letter it alone.
//!
//! Invariant: nothing is removed from the queue before the transport
//! confirmed it; every removal is an `ack` after a confirmation or a counted
//! dead letter.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tracing::{debug, info, warn};

use super::batch::{Packed, Packer};
use crate::queue::{Queue, QueueError};
use crate::reading::is_plausible_time;

/// How a message can fail to get through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later: nothing was confirmed (it may still have arrived).
    #[error("not confirmed: {0}")]
    Transient(String),
    /// The server refused this message and always will (e.g. HTTP 4xx).
    #[error("rejected by the server: {0}")]
    Rejected(String),
}

/// Something that carries one message to the far end and says whether it
/// arrived: the MQTT session through the module (a publish and its
/// confirmation URC), later HTTP.
pub trait Transport {
    /// Sends `payload`; `Ok` only once the far end confirmed it.
    fn send(&mut self, payload: &[u8]) -> impl Future<Output = Result<(), SendError>>;
}

/// What one drain did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Messages confirmed.
    pub messages: usize,
    /// Readings acked (confirmed).
    pub delivered: usize,
    /// Readings moved to the dead letters.
    pub dead_lettered: usize,
    /// Why the last of them was (the encoder's or the server's reason).
    pub dead_reason: Option<String>,
    /// Why the drain stopped before the queue was empty, if it did.
    pub stopped: Option<SendError>,
}

impl DrainReport {
    /// The queue was emptied (of what was pending when the drain ran).
    pub fn is_complete(&self) -> bool {
        self.stopped.is_none()
    }
}

/// Shared between a drain and whoever runs it (the daemon's window):
/// a stop request, and the drain's progress.
///
/// - Stop: when the agent is asked to stop, a drain ends after the message
///   in flight (which is never cut off half-sent) instead of sending all
///   its budget, so a stop is not held up by a long backlog (systemd kills
///   a service that takes too long to stop).
/// - Progress: every message settled (confirmed, rejected or failed) is
///   counted, so the owner can tell a long drain that moves from one that
///   hangs (the systemd watchdog is fed only while it moves).
#[derive(Debug, Clone, Default)]
pub struct DrainControl(Arc<ControlState>);

#[derive(Debug, Default)]
struct ControlState {
    stop: AtomicBool,
    settled: AtomicU64,
}

impl DrainControl {
    /// No stop requested, nothing settled.
    pub fn new() -> DrainControl {
        DrainControl::default()
    }

    /// Asks every drain holding a clone to end after its message in flight.
    pub fn stop(&self) {
        self.0.stop.store(true, Ordering::Relaxed);
    }

    /// Whether a stop was requested.
    pub fn is_stopped(&self) -> bool {
        self.0.stop.load(Ordering::Relaxed)
    }

    /// Messages settled so far by drains holding a clone.
    pub fn settled(&self) -> u64 {
        self.0.settled.load(Ordering::Relaxed)
    }

    fn settled_one(&self) {
        self.0.settled.fetch_add(1, Ordering::Relaxed);
    }
}

/// How far one drain goes. The default: until the queue is empty.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    /// Stop after this many messages.
    pub messages: Option<usize>,
    /// Send no reading newer than this sequence number. An upload window
    /// sends what was queued when it began: readings keep arriving while it
    /// uploads (the intake never waits for the uplink), and a producer
    /// faster than the link would otherwise keep the radio up for ever.
    /// They go in the next window.
    pub up_to_seq: Option<u64>,
    /// Stop after the message in flight once a stop is requested through
    /// it; count the messages settled.
    pub control: Option<DrainControl>,
    /// Stop before a reading whose timestamp is not plausible (stamped by
    /// a host clock not yet set): while the agent does not know the time,
    /// such readings wait, rather than reach a server with a wrong time or
    /// be refused by the encoder (`crate::timekeeper`).
    pub hold_implausible_times: bool,
}

impl Budget {
    /// No limit: until the queue is empty.
    pub const UNLIMITED: Budget = Budget {
        messages: None,
        up_to_seq: None,
        control: None,
        hold_implausible_times: false,
    };

    /// This budget, ending early when a stop is requested through
    /// `control`, and reporting progress to it.
    pub fn controlled_by(self, control: &DrainControl) -> Budget {
        Budget {
            control: Some(control.clone()),
            ..self
        }
    }

    /// At most `n` messages.
    pub fn messages(n: usize) -> Budget {
        Budget {
            messages: Some(n),
            ..Budget::UNLIMITED
        }
    }

    /// Only what is queued now in `queue`: nothing newer than its newest
    /// reading.
    pub fn queued_now(queue: &Queue) -> Result<Budget, QueueError> {
        let next = queue.stats()?.counters.next_seq;
        Ok(Budget {
            up_to_seq: Some(next.saturating_sub(1)),
            ..Budget::UNLIMITED
        })
    }
}

/// Sends pending readings through `transport`, message by message, until
/// the queue is empty, the transport fails, or the `budget` is spent.
pub async fn drain<T: Transport>(
    queue: &Queue,
    packer: &Packer,
    transport: &mut T,
    budget: Budget,
) -> Result<DrainReport, QueueError> {
    let mut report = DrainReport::default();
    let max_readings = packer.limits().max_readings;
    while budget.messages.is_none_or(|m| report.messages < m)
        && !budget
            .control
            .as_ref()
            .is_some_and(DrainControl::is_stopped)
    {
        let lease = queue.lease(max_readings, None)?;
        let within = lease
            .readings()
            .iter()
            .take_while(|r| budget.up_to_seq.is_none_or(|last| r.seq <= last))
            .take_while(|r| {
                !budget.hold_implausible_times || is_plausible_time(r.reading.timestamp_ns)
            })
            .count();
        let (lease, held) = lease.split_at(within);
        queue.release(held);
        if lease.is_empty() {
            break;
        }
        let mut readings = lease.readings().to_vec().into_iter().peekable();
        match packer.pack(&mut readings) {
            Packed::Empty => {
                queue.release(lease);
                break;
            }
            Packed::Rejected(rejected) => {
                // The packer rejects only the reading it would have started
                // the message with: the lease's first.
                let (bad, rest) = lease.split_at(1);
                queue.release(rest);
                let reason = rejected.reason.to_string();
                warn!(seq = rejected.reading.seq, %reason, "a reading can never be sent; dead-lettered");
                report.dead_lettered += queue.dead_letter(bad, &reason)?;
                report.dead_reason = Some(reason);
            }
            Packed::Message(message) => {
                let carried = message.seqs.len();
                let (sent, rest) = lease.split_at(carried);
                queue.release(rest);
                let sent_result = transport.send(&message.payload).await;
                if let Some(control) = &budget.control {
                    control.settled_one();
                }
                match sent_result {
                    Ok(()) => {
                        report.delivered += queue.ack(sent)?;
                        report.messages += 1;
                        debug!(
                            readings = carried,
                            bytes = message.payload.len(),
                            "message confirmed"
                        );
                    }
                    Err(SendError::Rejected(reason)) => {
                        warn!(readings = carried, %reason, "message rejected for good; dead-lettered");
                        report.dead_lettered += queue.dead_letter(sent, &reason)?;
                        report.dead_reason = Some(reason);
                    }
                    Err(e @ SendError::Transient(_)) => {
                        queue.release(sent);
                        info!(error = %e, "upload stopped; the readings stay queued");
                        report.stopped = Some(e);
                        break;
                    }
                }
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, VecDeque};

    use super::*;
    use crate::queue::Options;
    use crate::reading::{Reading, Value};
    use crate::uplink::{Encoder, Encoding, Limits};

    /// Records what it was asked to send; answers from a script, then `Ok`.
    #[derive(Default)]
    struct Scripted {
        answers: VecDeque<Result<(), SendError>>,
        sent: Vec<Vec<u8>>,
    }

    impl Transport for Scripted {
        async fn send(&mut self, payload: &[u8]) -> Result<(), SendError> {
            self.sent.push(payload.to_vec());
            self.answers.pop_front().unwrap_or(Ok(()))
        }
    }

    fn reading(i: i64, value: Value) -> Reading {
        Reading {
            source: "bme280".into(),
            name: "temperature".into(),
            unit: Some("Cel".into()),
            value,
            timestamp_ns: 1_790_000_000_000_000_000 + i * 1_000_000_000,
            tags: BTreeMap::new(),
        }
    }

    fn setup(n: i64) -> (tempfile::TempDir, Queue, Packer) {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::open(dir.path(), Options::default()).unwrap();
        let readings: Vec<Reading> = (0..n)
            .map(|i| reading(i, Value::F64(20.0 + i as f64)))
            .collect();
        queue.append(&readings).unwrap();
        let limits = Limits {
            max_payload_bytes: 256,
            max_readings: 10,
        };
        (
            dir,
            queue,
            Packer::new(Encoder::new(Encoding::SenmlJson, Some("gw")), limits),
        )
    }

    fn pending(queue: &Queue) -> u64 {
        queue.stats().unwrap().counters.pending_count
    }

    #[tokio::test]
    async fn a_confirmed_drain_empties_the_queue_in_full_messages() {
        let (_dir, queue, packer) = setup(35);
        let mut t = Scripted::default();
        let report = drain(&queue, &packer, &mut t, Budget::UNLIMITED)
            .await
            .unwrap();
        assert!(report.is_complete());
        assert_eq!(report.delivered, 35);
        assert_eq!(report.messages, t.sent.len());
        assert!(t.sent.iter().all(|m| m.len() <= 256));
        assert_eq!(pending(&queue), 0);
    }

    #[tokio::test]
    async fn an_unconfirmed_message_leaves_its_readings_queued_for_the_next_attempt() {
        let (_dir, queue, packer) = setup(25);
        let mut t = Scripted::default();
        t.answers.push_back(Ok(()));
        t.answers
            .push_back(Err(SendError::Transient("no PUBACK".into())));
        let report = drain(&queue, &packer, &mut t, Budget::UNLIMITED)
            .await
            .unwrap();
        assert_eq!(report.messages, 1);
        assert_eq!(
            report.stopped,
            Some(SendError::Transient("no PUBACK".into()))
        );
        assert_eq!(pending(&queue), 25 - report.delivered as u64);
        assert!(queue.leased_seqs().is_empty(), "nothing stays leased");

        // The next attempt sends the same readings again, first.
        let second = t.sent[1].clone();
        let report = drain(&queue, &packer, &mut t, Budget::UNLIMITED)
            .await
            .unwrap();
        assert!(report.is_complete());
        assert_eq!(t.sent[2], second);
        assert_eq!(pending(&queue), 0);
    }

    #[tokio::test]
    async fn a_message_rejected_for_good_is_dead_lettered_and_the_drain_goes_on() {
        let (_dir, queue, packer) = setup(20);
        let mut t = Scripted::default();
        t.answers
            .push_back(Err(SendError::Rejected("HTTP 422".into())));
        let report = drain(&queue, &packer, &mut t, Budget::UNLIMITED)
            .await
            .unwrap();
        assert!(report.is_complete());
        assert!(report.dead_lettered > 0);
        assert_eq!(report.dead_lettered + report.delivered, 20);
        let stats = queue.stats().unwrap();
        assert_eq!(stats.counters.pending_count, 0);
        assert_eq!(stats.counters.dead_count as usize, report.dead_lettered);
    }

    #[tokio::test]
    async fn a_reading_that_can_never_be_sent_is_dead_lettered_alone() {
        let dir = tempfile::tempdir().unwrap();
        let queue = Queue::open(dir.path(), Options::default()).unwrap();
        // NaN has no SenML JSON form; the readings around it go out.
        queue
            .append(&[
                reading(0, Value::F64(1.0)),
                reading(1, Value::F64(f64::NAN)),
                reading(2, Value::F64(3.0)),
            ])
            .unwrap();
        let packer = Packer::new(
            Encoder::new(Encoding::SenmlJson, None),
            Limits {
                max_payload_bytes: 1024,
                max_readings: 10,
            },
        );
        let mut t = Scripted::default();
        let report = drain(&queue, &packer, &mut t, Budget::UNLIMITED)
            .await
            .unwrap();
        assert!(report.is_complete());
        assert_eq!((report.delivered, report.dead_lettered), (2, 1));
        assert_eq!(pending(&queue), 0);
    }

    #[tokio::test]
    async fn a_drain_up_to_a_sequence_number_leaves_what_was_queued_after_it() {
        let (_dir, queue, packer) = setup(15);
        let budget = Budget::queued_now(&queue).unwrap();
        queue
            .append(&[reading(99, Value::F64(9.9)), reading(100, Value::F64(10.0))])
            .unwrap();
        let mut t = Scripted::default();
        let report = drain(&queue, &packer, &mut t, budget).await.unwrap();
        assert!(report.is_complete());
        assert_eq!(report.delivered, 15);
        assert_eq!(pending(&queue), 2);
        assert!(queue.leased_seqs().is_empty());
        // The next window takes them.
        let budget = Budget::queued_now(&queue).unwrap();
        let report = drain(&queue, &packer, &mut t, budget).await.unwrap();
        assert_eq!((report.delivered, pending(&queue)), (2, 0));
    }

    /// Requests a stop while sending its first message.
    struct StoppedWhileSending {
        control: DrainControl,
        sent: usize,
    }

    impl Transport for StoppedWhileSending {
        async fn send(&mut self, _payload: &[u8]) -> Result<(), SendError> {
            self.control.stop();
            self.sent += 1;
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_stop_ends_the_drain_after_the_message_in_flight_which_is_confirmed() {
        let (_dir, queue, packer) = setup(35);
        let control = DrainControl::new();
        let mut t = StoppedWhileSending {
            control: control.clone(),
            sent: 0,
        };
        let budget = Budget::UNLIMITED.controlled_by(&control);
        let report = drain(&queue, &packer, &mut t, budget).await.unwrap();
        assert_eq!((t.sent, report.messages), (1, 1));
        assert_eq!(control.settled(), 1);
        assert!(report.delivered > 0);
        assert_eq!(pending(&queue), 35 - report.delivered as u64);
        assert!(queue.leased_seqs().is_empty());
    }

    #[tokio::test]
    async fn readings_stamped_before_the_time_was_known_wait_while_it_is_unknown() {
        let (_dir, queue, packer) = setup(3);
        queue
            .append(&[reading(-1_790_000_000, Value::F64(1.0))])
            .unwrap();
        queue.append(&[reading(5, Value::F64(2.0))]).unwrap();
        let mut t = Scripted::default();
        let budget = Budget {
            hold_implausible_times: true,
            ..Budget::UNLIMITED
        };
        let report = drain(&queue, &packer, &mut t, budget).await.unwrap();
        // The three before it went; it and what follows wait.
        assert_eq!(report.delivered, 3);
        assert_eq!(pending(&queue), 2);
        assert!(queue.leased_seqs().is_empty());
        assert_eq!(report.dead_lettered, 0);
    }

    #[tokio::test]
    async fn a_message_budget_stops_the_drain_with_the_rest_still_queued() {
        let (_dir, queue, packer) = setup(35);
        let mut t = Scripted::default();
        let report = drain(&queue, &packer, &mut t, Budget::messages(1))
            .await
            .unwrap();
        assert_eq!(report.messages, 1);
        assert_eq!(pending(&queue), 35 - report.delivered as u64);
        assert!(queue.leased_seqs().is_empty());
    }
}
