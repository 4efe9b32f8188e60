//! The intake: what the plugins emit, into the durable queue, whatever the
//! uplink is doing.
//!
//! Invariant: the intake never waits for the uplink. It is a task of its
//! own, so an upload window that takes minutes on a slow link (or waits for
//! a login that never completes) does not stop readings from reaching the
//! disk: the plugin host's bounded channel is emptied as fast as the queue
//! takes them, and a reading is dropped only by the queue's own bounds
//! (`queue.on_full`), never because the channel filled while a window ran.
//!
//! Each append runs on tokio's blocking pool: it fsyncs (`queue.sync =
//! "batch"`), and the module's serial I/O must not wait for the disk.
//! Readings are taken in batches of up to [`BATCH`] (whatever waits on the
//! channel when the previous append returns), one queue transaction each.
//!
//! With `queue.sync` an interval, the intake also keeps the promise that at
//! most that much of the newest readings is ever not on the disk: after an
//! append that did not flush, a flush follows once the interval has passed,
//! even if nothing else happens. The daemon reports its own appends that did
//! not flush (the heartbeat) with [`Intake::note_unflushed`], so the same
//! timer covers them. The timer is tokio's, so a paused clock (the energy
//! benchmark) drives it too.
//!
//! The daemon learns what came in through [`Intake::queued`]: that readings
//! were queued (a window may be due for `uplink.max_pending`) and whether
//! one was urgent.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::plugin_host::PluginReading;
use crate::queue::{Queue, QueueError, SyncPolicy};
use crate::reading::Reading;
use crate::timekeeper::TimeKeeper;

/// Most readings appended in one queue transaction: large enough that a
/// burst costs few transactions (and fsyncs), small enough that one append
/// stays short.
pub const BATCH: usize = 256;

/// What the intake task and its owner share.
#[derive(Debug, Default)]
struct Shared {
    /// Set by the task when it queued a batch; the owner's
    /// [`Intake::queued`] waits for it. A `Notify` keeps one permit, so a
    /// batch queued while the owner is busy (in a window) is not missed.
    queued: Notify,
    /// An urgent reading was queued since the owner last asked.
    urgent: AtomicBool,
    /// The owner appended something that did not flush.
    unflushed: Notify,
    /// Why the task stopped early: the queue failed (a full or failing
    /// disk). Taken by [`Intake::queued`].
    failure: Mutex<Option<QueueError>>,
}

/// The running intake task.
#[derive(Debug)]
pub struct Intake {
    task: JoinHandle<()>,
    shared: Arc<Shared>,
}

impl Intake {
    /// Starts taking `readings` into `queue`. Ends when the channel closes
    /// (the plugin host shut down) and everything on it is queued, or when
    /// the queue fails.
    pub fn start(
        queue: Arc<Queue>,
        readings: mpsc::Receiver<PluginReading>,
        time: Arc<TimeKeeper>,
    ) -> Intake {
        let shared = Arc::new(Shared::default());
        let task = tokio::spawn(run(queue, readings, time, Arc::clone(&shared)));
        Intake { task, shared }
    }

    /// Waits until readings have been queued since the last call; returns
    /// whether one of them was urgent, or why the intake failed.
    pub async fn queued(&self) -> Result<bool, QueueError> {
        self.shared.queued.notified().await;
        if let Some(e) = take(&self.shared.failure) {
            return Err(e);
        }
        Ok(self.shared.urgent.swap(false, Ordering::Relaxed))
    }

    /// The owner appended to the queue and the append did not flush (with
    /// `queue.sync` an interval): the intake's flush timer covers it.
    pub fn note_unflushed(&self) {
        self.shared.unflushed.notify_one();
    }

    /// Waits until everything the plugins emitted is queued. Call after the
    /// plugin host has shut down (which closes the channel).
    pub async fn finish(self) -> Result<(), QueueError> {
        if let Err(e) = self.task.await {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        match take(&self.shared.failure) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

fn take(failure: &Mutex<Option<QueueError>>) -> Option<QueueError> {
    failure
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
}

/// The intake task: batches from the channel into the queue, and the
/// interval flush.
async fn run(
    queue: Arc<Queue>,
    mut readings: mpsc::Receiver<PluginReading>,
    time: Arc<TimeKeeper>,
    shared: Arc<Shared>,
) {
    let interval = match queue.options().sync {
        SyncPolicy::Batch => None,
        SyncPolicy::Interval(every) => Some(every.get()),
    };
    // When the oldest unflushed append must be on the disk.
    let mut flush_at: Option<Instant> = None;
    let arm = |flush_at: &mut Option<Instant>| {
        if let Some(every) = interval {
            flush_at.get_or_insert_with(|| Instant::now() + every);
        }
    };
    let outcome = loop {
        let deadline = flush_at.unwrap_or_else(far_future);
        tokio::select! {
            received = readings.recv() => {
                let Some(first) = received else {
                    break Ok(());
                };
                let (batch, urgent) = take_batch(first, &mut readings);
                match append(&queue, &time, batch).await {
                    // The runtime is shutting down: nothing more is queued.
                    None => break Ok(()),
                    Some(Ok(durable)) => {
                        if !durable {
                            arm(&mut flush_at);
                        }
                        if urgent {
                            shared.urgent.store(true, Ordering::Relaxed);
                        }
                        shared.queued.notify_one();
                    }
                    Some(Err(e)) => break Err(e),
                }
            }
            () = shared.unflushed.notified() => arm(&mut flush_at),
            () = tokio::time::sleep_until(deadline), if flush_at.is_some() => {
                flush_at = None;
                let queue = Arc::clone(&queue);
                match blocking(move || queue.flush_if_dirty()).await {
                    None => break Ok(()),
                    Some(Err(e)) => break Err(e),
                    Some(Ok(_)) => {}
                }
            }
        }
    };
    if let Err(e) = outcome {
        tracing::error!(error = %e, "cannot queue the plugins' readings");
        *shared
            .failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(e);
        shared.queued.notify_one();
    }
}

/// `first` and whatever else already waits on the channel, up to [`BATCH`];
/// and whether any of them is urgent.
fn take_batch(
    first: PluginReading,
    readings: &mut mpsc::Receiver<PluginReading>,
) -> (Vec<Reading>, bool) {
    let mut urgent = first.urgent;
    let mut batch = Vec::with_capacity(BATCH.min(readings.len() + 1));
    batch.push(first.reading);
    while batch.len() < BATCH {
        match readings.try_recv() {
            Ok(next) => {
                urgent |= next.urgent;
                batch.push(next.reading);
            }
            Err(_) => break,
        }
    }
    (batch, urgent)
}

/// Appends `batch` on the blocking pool, its timestamps corrected if the
/// host clock was wrong and the correction is known (under the keeper's
/// lock: see `crate::timekeeper`); returns whether it is on the disk.
async fn append(
    queue: &Arc<Queue>,
    time: &Arc<TimeKeeper>,
    mut batch: Vec<Reading>,
) -> Option<Result<bool, QueueError>> {
    let queue = Arc::clone(queue);
    let time = Arc::clone(time);
    blocking(move || {
        time.with_correction(|fix| {
            for reading in &mut batch {
                reading.timestamp_ns = fix(reading.timestamp_ns);
            }
            queue.append(&batch).map(|a| a.durable)
        })
    })
    .await
}

/// Runs queue I/O on the blocking pool; `None` if the runtime is shutting
/// down and it never ran. A panic in it is a bug and goes on unwinding here.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => Some(result),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => None,
    }
}

/// A deadline that never comes (the `select!` branch is disabled then).
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::queue::{ManualClock, Options};
    use crate::reading::Value;
    use crate::store::OpenMode;
    use crate::values::Duration as ConfigDuration;

    fn reading(i: i64, urgent: bool) -> PluginReading {
        PluginReading {
            reading: Reading {
                source: "p".into(),
                name: "n".into(),
                unit: None,
                value: Value::I64(i),
                timestamp_ns: 1_735_689_600_000_000_000 + i,
                tags: BTreeMap::new(),
            },
            urgent,
        }
    }

    /// A queue on a clock that stands still: only the intake's own timer
    /// (tokio's) can make an interval flush happen.
    fn queue(dir: &std::path::Path, sync: SyncPolicy) -> Arc<Queue> {
        let options = Options {
            sync,
            ..Options::default()
        };
        let clock = Arc::new(ManualClock::new(1_735_689_600_000));
        Arc::new(Queue::open_with(&dir.join("q"), options, clock, OpenMode::Agent).unwrap())
    }

    /// Gives the flush the timer started on the blocking pool (which a
    /// paused clock does not drive) time to finish: up to half a second.
    async fn wait_for_sync(q: &Queue, before: u64) {
        for _ in 0..100 {
            if q.store().syncs() > before {
                return;
            }
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn readings_are_queued_and_the_owner_learns_of_an_urgent_one() {
        let dir = tempfile::tempdir().unwrap();
        let q = queue(dir.path(), SyncPolicy::Batch);
        let (tx, rx) = mpsc::channel(8);
        let intake = Intake::start(Arc::clone(&q), rx, Arc::new(TimeKeeper::system()));
        tx.send(reading(0, false)).await.unwrap();
        assert!(!intake.queued().await.unwrap());
        tx.send(reading(1, true)).await.unwrap();
        assert!(intake.queued().await.unwrap());
        for i in 2..6 {
            tx.send(reading(i, false)).await.unwrap();
        }
        drop(tx);
        intake.finish().await.unwrap();
        assert_eq!(q.stats().unwrap().counters.pending_count, 6);
    }

    #[tokio::test(start_paused = true)]
    async fn with_an_interval_sync_what_the_intake_appended_is_synced_once_the_interval_passed() {
        let dir = tempfile::tempdir().unwrap();
        let q = queue(
            dir.path(),
            SyncPolicy::Interval(ConfigDuration::from_secs(60)),
        );
        let (tx, rx) = mpsc::channel(8);
        let intake = Intake::start(Arc::clone(&q), rx, Arc::new(TimeKeeper::system()));
        let opened = q.store().syncs();
        tx.send(reading(0, false)).await.unwrap();
        intake.queued().await.unwrap();
        tx.send(reading(1, false)).await.unwrap();
        intake.queued().await.unwrap();
        tokio::time::sleep(Duration::from_secs(59)).await;
        assert_eq!(q.store().syncs(), opened, "synced before the interval");
        tokio::time::sleep(Duration::from_secs(2)).await;
        wait_for_sync(&q, opened).await;
        assert_eq!(q.store().syncs(), opened + 1, "one sync for both appends");
        // Nothing left to sync: no timer, no sync.
        tokio::time::sleep(Duration::from_secs(600)).await;
        assert_eq!(q.store().syncs(), opened + 1);
        drop(tx);
        intake.finish().await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn an_append_of_the_owner_that_did_not_sync_is_synced_by_the_intakes_timer() {
        let dir = tempfile::tempdir().unwrap();
        let q = queue(
            dir.path(),
            SyncPolicy::Interval(ConfigDuration::from_secs(60)),
        );
        let (tx, rx) = mpsc::channel(8);
        let intake = Intake::start(Arc::clone(&q), rx, Arc::new(TimeKeeper::system()));
        let opened = q.store().syncs();
        assert!(!q.append(&[reading(0, false).reading]).unwrap().durable);
        intake.note_unflushed();
        tokio::time::sleep(Duration::from_secs(61)).await;
        wait_for_sync(&q, opened).await;
        assert_eq!(q.store().syncs(), opened + 1);
        drop(tx);
        intake.finish().await.unwrap();
    }
}
