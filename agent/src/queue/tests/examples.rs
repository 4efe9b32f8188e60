//! The queue by example: each test one behaviour, on a real store in a
//! temporary directory, with a manual clock.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::super::*;
use crate::reading::Value;
use crate::values::Duration as ConfigDuration;

/// 2025-01-01T00:00:00Z.
const NOW_MS: u64 = 1_735_689_600_000;

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    clock: ManualClock,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue");
    Fixture {
        _dir: dir,
        path,
        clock: ManualClock::new(NOW_MS),
    }
}

fn options() -> Options {
    Options {
        sync: SyncPolicy::Batch,
        max_bytes: 1 << 20,
        on_full: OnFull::DropOldest,
        max_age: Duration::from_secs(3_600),
        lease_timeout: Duration::from_secs(60),
    }
}

impl Fixture {
    fn open(&self, options: Options) -> Queue {
        Queue::open_with(
            &self.path,
            options,
            Arc::new(self.clock.clone()),
            OpenMode::Agent,
        )
        .unwrap()
    }
}

fn reading(i: i64) -> Reading {
    Reading {
        source: "bme280".into(),
        name: "bme280/temperature".into(),
        unit: Some("Cel".into()),
        value: Value::F64(20.0 + i as f64 / 10.0),
        timestamp_ns: 1_735_689_600_000_000_000 + i,
        tags: BTreeMap::from([("room".into(), "lab".into())]),
    }
}

fn readings(range: std::ops::Range<i64>) -> Vec<Reading> {
    range.map(reading).collect()
}

fn pending_seqs(q: &Queue) -> Vec<u64> {
    q.pending().map(|p| p.unwrap().seq).collect()
}

fn stored(a: &Appended) -> Vec<u64> {
    a.stored().collect()
}

#[test]
fn sequence_numbers_increase_across_batches_and_restarts() {
    let f = fixture();
    let q = f.open(options());
    let a = stored(&q.append(&readings(0..3)).unwrap());
    let b = stored(&q.append(&readings(3..5)).unwrap());
    assert_eq!(a.len(), 3);
    assert!(a.windows(2).all(|w| w[1] == w[0] + 1));
    assert_eq!(b[0], a[2] + 1);
    drop(q);
    let q = f.open(options());
    let c = stored(&q.append(&readings(5..6)).unwrap());
    assert_eq!(c, [b[1] + 1]);
    assert_eq!(pending_seqs(&q).len(), 6);
}

#[test]
fn sequence_numbers_never_fall_below_the_clock_in_microseconds() {
    let f = fixture();
    let q = f.open(options());
    let first = stored(&q.append(&readings(0..1)).unwrap())[0];
    assert_eq!(first, NOW_MS * 1_000, "a new store numbers from the clock");
    drop(q);
    // A store that went back in time (here: replaced by an empty one)
    // still numbers above everything handed out before.
    std::fs::remove_dir_all(&f.path).unwrap();
    f.clock.advance(Duration::from_millis(1));
    let q = f.open(options());
    let next = stored(&q.append(&readings(1..2)).unwrap())[0];
    assert_eq!(next, (NOW_MS + 1) * 1_000);
}

#[test]
fn a_lease_hands_out_the_oldest_readings_and_ack_removes_them_for_good() {
    let f = fixture();
    let q = f.open(options());
    q.append(&readings(0..5)).unwrap();
    let all = pending_seqs(&q);
    let first = q.lease(2, None).unwrap();
    assert_eq!(first.seqs().collect::<Vec<_>>(), all[..2]);
    assert_eq!(first.readings()[0].reading, reading(0));
    let second = q.lease(10, None).unwrap();
    assert_eq!(second.seqs().collect::<Vec<_>>(), all[2..]);
    assert!(q.lease(10, None).unwrap().is_empty());
    assert_eq!(q.stats().unwrap().leased, 5);

    assert_eq!(q.ack(first).unwrap(), 2);
    assert_eq!(q.release(second), 3);
    assert_eq!(pending_seqs(&q), all[2..]);
    drop(q);
    let q = f.open(options());
    assert_eq!(pending_seqs(&q), all[2..]);
    let c = q.stats().unwrap().counters;
    assert_eq!((c.appended, c.acked, c.pending_count), (5, 2, 3));
}

#[test]
fn a_lease_stops_before_max_bytes_but_always_carries_one_reading() {
    let f = fixture();
    let q = f.open(options());
    q.append(&readings(0..4)).unwrap();
    let size = Queue::stored_size(&reading(0));
    let lease = q.lease(10, Some(size * 2 + 1)).unwrap();
    assert_eq!(lease.len(), 2);
    assert_eq!(lease.bytes(), 2 * size);
    let lease = q.lease(10, Some(1)).unwrap();
    assert_eq!(lease.len(), 1);
}

#[test]
fn a_lease_split_after_a_partial_send_acks_one_part_and_releases_the_rest() {
    let f = fixture();
    let q = f.open(options());
    q.append(&readings(0..4)).unwrap();
    let all = pending_seqs(&q);
    let (sent, rest) = q.lease(4, None).unwrap().split_at(3);
    assert_eq!(q.ack(sent).unwrap(), 3);
    assert_eq!(q.release(rest), 1);
    assert_eq!(pending_seqs(&q), all[3..]);
    assert_eq!(q.lease(4, None).unwrap().len(), 1);
}

#[test]
fn a_lease_not_acked_in_time_is_handed_out_again_and_a_late_ack_still_counts() {
    let f = fixture();
    let q = f.open(options());
    q.append(&readings(0..3)).unwrap();
    let old = q.lease(3, None).unwrap();
    f.clock.advance(Duration::from_secs(59));
    assert!(q.lease(3, None).unwrap().is_empty());
    f.clock.advance(Duration::from_secs(1));
    let new = q.lease(3, None).unwrap();
    assert_eq!(
        new.seqs().collect::<Vec<_>>(),
        old.seqs().collect::<Vec<_>>()
    );
    // The old lease's late release must not free the new lease's readings.
    let old_copy = old.clone();
    assert_eq!(q.release(old), 0);
    assert_eq!(q.stats().unwrap().leased, 3);
    // Its late ack means they were delivered: they go.
    assert_eq!(q.ack(old_copy).unwrap(), 3);
    assert_eq!(q.ack(new).unwrap(), 0);
    assert_eq!(q.stats().unwrap().counters.pending_count, 0);
    assert_eq!(q.stats().unwrap().leased, 0);
}

#[test]
fn a_restart_makes_every_unacked_lease_pending_again() {
    let f = fixture();
    let q = f.open(options());
    q.append(&readings(0..3)).unwrap();
    let lease = q.lease(3, None).unwrap();
    std::mem::drop(lease);
    drop(q);
    let q = f.open(options());
    assert_eq!(q.stats().unwrap().leased, 0);
    assert_eq!(q.lease(10, None).unwrap().len(), 3);
}

#[test]
fn a_full_queue_drops_dead_letters_first_then_the_oldest_readings() {
    let f = fixture();
    let size = Queue::stored_size(&reading(0));
    let opts = Options {
        max_bytes: size * 4,
        ..options()
    };
    let q = f.open(opts.clone());
    q.append(&readings(0..2)).unwrap();
    let lease = q.lease(1, None).unwrap();
    assert_eq!(q.dead_letter(lease, "422 unknown sensor").unwrap(), 1);
    let seqs = pending_seqs(&q);
    // One dead letter (a little larger than its reading) + one pending.
    let a = q.append(&readings(2..5)).unwrap();
    assert_eq!(a.dead_dropped, 1);
    assert_eq!(a.dropped, 0);
    assert_eq!(q.dead_letters().count(), 0);
    let b = q.append(&readings(5..7)).unwrap();
    assert_eq!(b.dropped, 2);
    let now = pending_seqs(&q);
    assert_eq!(now.len(), 4);
    assert!(!now.contains(&seqs[0]));
    let c = q.stats().unwrap().counters;
    assert_eq!((c.dropped, c.dead_dropped, c.rejected), (2, 1, 0));
    assert!(c.used_bytes() <= opts.max_bytes);
}

#[test]
fn reject_new_keeps_the_backlog_and_counts_what_it_refused() {
    let f = fixture();
    let size = Queue::stored_size(&reading(0));
    let q = f.open(Options {
        max_bytes: size * 3,
        on_full: OnFull::RejectNew,
        ..options()
    });
    let first = stored(&q.append(&readings(0..2)).unwrap());
    let a = q.append(&readings(2..5)).unwrap();
    assert_eq!(a.rejected, 2);
    assert_eq!(a.seqs.iter().filter(|s| s.is_none()).count(), 2);
    assert!(a.seqs[0].is_some());
    assert_eq!(pending_seqs(&q)[..2], first[..]);
    assert_eq!(q.stats().unwrap().counters.rejected, 2);
}

#[test]
fn a_reading_larger_than_max_bytes_alone_is_rejected_in_either_mode() {
    let f = fixture();
    let q = f.open(Options {
        max_bytes: 200,
        ..options()
    });
    let mut big = reading(0);
    big.value = Value::Bytes(vec![0; 300]);
    let a = q.append(&[reading(1), big, reading(2)]).unwrap();
    assert_eq!(a.rejected, 1);
    assert_eq!(a.seqs[1], None);
    assert_eq!(
        a.dropped, 0,
        "nothing is dropped for a reading that can never fit"
    );
}

#[test]
fn readings_older_than_max_age_expire_counted_and_leases_on_them_end() {
    let f = fixture();
    let q = f.open(options());
    q.append(&readings(0..2)).unwrap();
    f.clock.advance(Duration::from_secs(1_800));
    let young = stored(&q.append(&readings(2..3)).unwrap());
    let lease = q.lease(1, None).unwrap();
    f.clock.advance(Duration::from_secs(1_800));
    let m = q.maintain().unwrap();
    assert_eq!(m.expired, 2);
    assert_eq!(pending_seqs(&q), young);
    assert_eq!(q.stats().unwrap().counters.expired, 2);
    assert_eq!(q.stats().unwrap().leased, 0);
    assert_eq!(q.ack(lease).unwrap(), 0);
}

#[test]
fn readings_taken_in_before_the_clock_was_set_never_expire_by_age() {
    let f = fixture();
    f.clock.set_unix_ms(5_000); // 1970: no RTC, no network time yet
    let q = f.open(options());
    q.append(&readings(0..2)).unwrap();
    f.clock.set_unix_ms(NOW_MS); // the network set the clock
    f.clock.advance(Duration::from_secs(7_200));
    q.append(&readings(2..3)).unwrap();
    assert_eq!(q.maintain().unwrap().expired, 0);
    assert_eq!(pending_seqs(&q).len(), 3);
}

#[test]
fn dead_letters_are_kept_with_their_reason_until_purged() {
    let f = fixture();
    let q = f.open(options());
    q.append(&readings(0..3)).unwrap();
    let lease = q.lease(2, None).unwrap();
    let seqs: Vec<_> = lease.seqs().collect();
    assert_eq!(q.dead_letter(lease, "400 malformed").unwrap(), 2);
    let dead: Vec<_> = q.dead_letters().map(|d| d.unwrap()).collect();
    assert_eq!(dead.iter().map(|d| d.seq).collect::<Vec<_>>(), seqs);
    assert_eq!(dead[0].reason, "400 malformed");
    assert_eq!(dead[0].reading, reading(0));
    drop(q);
    let q = f.open(options());
    let c = q.stats().unwrap().counters;
    assert_eq!((c.dead_count, c.dead_lettered, c.pending_count), (2, 2, 1));
    let (n, bytes) = q.purge_dead_letters().unwrap();
    assert_eq!(n, 2);
    assert!(bytes > 0);
    let c = q.stats().unwrap().counters;
    assert_eq!((c.dead_count, c.dead_bytes, c.dead_purged), (0, 0, 2));
}

#[test]
fn an_undecodable_record_is_moved_aside_counted_and_its_seq_never_reused() {
    let f = fixture();
    let q = f.open(options());
    let seqs = stored(&q.append(&readings(0..3)).unwrap());
    drop(q);
    {
        let store = Store::open(&f.path, OpenMode::Agent, |_| Ok(())).unwrap();
        let mut w = WriteSet::new();
        w.insert(TreeId::Readings, record::key(seqs[1]), vec![9, 9, 9]);
        w.insert(TreeId::Readings, record::key(seqs[2] + 7), vec![1, 2]);
        store.commit(&w).unwrap();
        store.flush().unwrap();
    }
    let q = f.open(options());
    assert_eq!(q.recovery().corrupt_moved, 2);
    assert!(q.recovery().moved_aside.is_none());
    assert_eq!(pending_seqs(&q), [seqs[0], seqs[2]]);
    let c = q.stats().unwrap().counters;
    assert_eq!((c.corrupt, c.pending_count), (2, 2));
    assert_eq!(c.pending_bytes, 2 * Queue::stored_size(&reading(0)));
    let next = stored(&q.append(&readings(3..4)).unwrap())[0];
    assert_eq!(next, seqs[2] + 8);
    // The raw bytes are kept.
    let raw = q
        .store
        .get(
            TreeId::Corrupt,
            &space::corrupt_key(TreeId::Readings, &record::key(seqs[1])),
        )
        .unwrap();
    assert_eq!(raw, Some(vec![9, 9, 9]));
}

#[test]
fn unreadable_counters_are_recounted_and_sequence_numbers_still_grow() {
    let f = fixture();
    let q = f.open(options());
    let seqs = stored(&q.append(&readings(0..3)).unwrap());
    let lease = q.lease(3, None).unwrap();
    q.ack(lease).unwrap();
    q.append(&readings(3..4)).unwrap();
    drop(q);
    {
        let store = Store::open(&f.path, OpenMode::Agent, |_| Ok(())).unwrap();
        let mut w = WriteSet::new();
        w.insert(TreeId::Meta, COUNTERS_KEY, vec![1, 200]);
        store.commit(&w).unwrap();
    }
    f.clock.advance(Duration::from_secs(1));
    let q = f.open(options());
    assert!(q.recovery().recounted);
    let c = q.stats().unwrap().counters;
    assert_eq!((c.pending_count, c.corrupt), (1, 1));
    let next = stored(&q.append(&readings(4..5)).unwrap())[0];
    assert!(next > seqs[2] + 1, "{next} reuses a number");
}

#[test]
fn a_store_from_a_newer_agent_is_refused_and_left_alone() {
    let f = fixture();
    drop(f.open(options()));
    {
        let store = Store::open(&f.path, OpenMode::Agent, |_| Ok(())).unwrap();
        let mut w = WriteSet::new();
        w.insert(TreeId::Meta, FORMAT_KEY, vec![FORMAT_VERSION + 1]);
        store.commit(&w).unwrap();
    }
    let e = Queue::open_with(
        &f.path,
        options(),
        Arc::new(f.clock.clone()),
        OpenMode::Agent,
    )
    .unwrap_err();
    assert!(matches!(e, QueueError::NewerFormat { found: 2, .. }), "{e}");
    assert!(f.path.exists());
}

#[test]
fn with_an_interval_appends_are_flushed_at_most_that_often() {
    let f = fixture();
    let q = f.open(Options {
        sync: SyncPolicy::Interval(ConfigDuration::from_secs(5)),
        ..options()
    });
    f.clock.advance(Duration::from_secs(5));
    assert!(q.append(&readings(0..1)).unwrap().durable);
    assert!(!q.append(&readings(1..2)).unwrap().durable);
    assert!(!q.flush_if_due().unwrap());
    f.clock.advance(Duration::from_secs(5));
    assert!(q.flush_if_due().unwrap());
    assert!(!q.flush_if_due().unwrap(), "nothing left to flush");
}

#[test]
fn batch_sync_costs_one_disk_sync_per_append_and_an_interval_groups_them() {
    let per_append = |sync: SyncPolicy| {
        let f = fixture();
        let q = f.open(Options { sync, ..options() });
        let before = q.store().syncs();
        for i in 0..100 {
            // 50 ms between appends: 5 s in all.
            f.clock.advance(Duration::from_millis(50));
            q.append(&readings(i..i + 1)).unwrap();
        }
        q.store().syncs() - before
    };
    assert_eq!(per_append(SyncPolicy::Batch), 100);
    // The first append is 50 ms after the open's flush; then one sync per
    // second of appends.
    let grouped = per_append(SyncPolicy::Interval(ConfigDuration::from_secs(1)));
    assert!((4..=5).contains(&grouped), "{grouped} syncs");
}

#[test]
fn inspecting_reads_without_expiring_and_a_missing_queue_is_an_error() {
    let f = fixture();
    let e = Queue::open_with(
        &f.path,
        options(),
        Arc::new(f.clock.clone()),
        OpenMode::Inspect,
    )
    .unwrap_err();
    assert!(e.to_string().contains("no queue at"), "{e}");
    drop(f.open(options()).append(&readings(0..2)).unwrap());
    f.clock.advance(Duration::from_secs(10_000));
    let q = Queue::open_with(
        &f.path,
        options(),
        Arc::new(f.clock.clone()),
        OpenMode::Inspect,
    )
    .unwrap();
    assert_eq!(pending_seqs(&q).len(), 2);
    assert_eq!(q.stats().unwrap().counters.expired, 0);
}

#[test]
fn a_lease_flushes_first_so_no_unflushed_reading_leaves() {
    let f = fixture();
    let q = f.open(Options {
        sync: SyncPolicy::Interval(ConfigDuration::from_secs(3_600)),
        ..options()
    });
    f.clock.advance(Duration::from_secs(1));
    assert!(!q.append(&readings(0..2)).unwrap().durable);
    assert_eq!(q.lease(2, None).unwrap().len(), 2);
    f.clock.advance(Duration::from_secs(3_600));
    assert!(!q.flush_if_due().unwrap(), "the lease flushed already");
}

#[test]
fn a_queue_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Queue>();
    let f = fixture();
    let q = Arc::new(f.open(options()));
    let writer = {
        let q = Arc::clone(&q);
        std::thread::spawn(move || {
            for i in 0..20 {
                q.append(&readings(i..i + 1)).unwrap();
            }
        })
    };
    let mut acked = 0;
    while acked < 20 {
        let lease = q.lease(5, None).unwrap();
        acked += q.ack(lease).unwrap();
    }
    writer.join().unwrap();
    assert_eq!(q.stats().unwrap().counters.acked, 20);
}

#[test]
fn readings_stamped_before_the_time_was_known_are_restamped_once_it_is() {
    let f = fixture();
    let q = f.open(options());
    let stamped = |ts: i64| Reading {
        timestamp_ns: ts,
        ..reading(0)
    };
    // An earlier boot that never learned the time.
    q.boot_first_seq("boot-old").unwrap();
    q.append(&[stamped(5_000_000_000)]).unwrap();
    // This boot: two readings from the host's 1970 clock, one plausible.
    let first = q.boot_first_seq("boot-new").unwrap();
    assert_eq!(
        q.boot_first_seq("boot-new").unwrap(),
        first,
        "same boot, same seq"
    );
    q.append(&[stamped(10_000_000_000), stamped(20_000_000_000), reading(7)])
        .unwrap();
    assert!(q.has_implausible_times());
    // 10 s of the host clock was 2026-12-04T21:15:30Z.
    let correction = 1_796_418_930_000_000_000 - 10_000_000_000;
    let now = 1_796_418_990_000_000_000;
    let done = q.restamp(first, Some(correction), now).unwrap();
    assert_eq!((done.corrected, done.unknown), (2, 1));
    assert!(!q.has_implausible_times());
    let pending: Vec<Reading> = q.pending().map(|p| p.unwrap().reading).collect();
    assert_eq!(pending[0].timestamp_ns, now);
    assert_eq!(
        pending[0].tags.get("clock").map(String::as_str),
        Some("unknown")
    );
    assert_eq!(pending[1].timestamp_ns, 1_796_418_930_000_000_000);
    assert_eq!(pending[2].timestamp_ns, 1_796_418_940_000_000_000);
    assert!(!pending[1].tags.contains_key("clock"));
    assert_eq!(pending[3], reading(7));
    // The counters still match the data (the tag made a record longer).
    drop(q);
    let q = f.open(options());
    assert!(!q.recovery().recounted);
    assert!(
        !q.has_implausible_times(),
        "the open's scan found none left"
    );
    // Nothing to do a second time.
    assert_eq!(
        q.restamp(first, Some(correction), now).unwrap(),
        Restamped::default()
    );
}
