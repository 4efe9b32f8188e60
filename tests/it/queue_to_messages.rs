//! The queue and the packer together, as the uplink will drive them: lease
//! the oldest readings, pack as many as fit in one message, ack exactly
//! those, hand the rest back. Nothing is lost, nothing is sent twice, and
//! acked readings never come back after a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use edge_agent::queue::{Options, Queue};
use edge_agent::uplink::{Encoder, Encoding, Limits, Packed, Packer};

#[test]
fn readings_leased_packed_and_acked_in_full_messages_leave_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let all = crate::support::realistic_readings();
    let appended: Vec<u64> = {
        let queue = Queue::open(dir.path(), Options::default()).unwrap();
        let out = queue.append(&all).unwrap();
        out.stored().collect()
    };
    assert_eq!(appended.len(), all.len());

    let limits = Limits {
        max_payload_bytes: 1024,
        max_readings: 100,
    };
    let packer = Packer::new(Encoder::new(Encoding::SenmlCbor, Some("gw-1")), limits);
    let queue = Queue::open(dir.path(), Options::default()).unwrap();
    let mut sent = Vec::new();
    let mut messages = 0;
    loop {
        let lease = queue.lease(limits.max_readings, None).unwrap();
        if lease.is_empty() {
            break;
        }
        let mut source = lease.readings().to_vec().into_iter().peekable();
        let message = match packer.pack(&mut source) {
            Packed::Message(m) => m,
            other => panic!("a realistic reading must pack, got {other:?}"),
        };
        assert!(message.payload.len() <= limits.max_payload_bytes);
        let n = message.seqs.len();
        let leased_prefix: Vec<u64> = lease.seqs().take(n).collect();
        assert_eq!(
            message.seqs, leased_prefix,
            "the packer keeps the queue's order"
        );
        // An independent decoder sees one SenML record per reading.
        let decoded: ciborium::Value = ciborium::from_reader(&message.payload[..]).unwrap();
        assert_eq!(decoded.as_array().map(Vec::len), Some(n));
        let (delivered, rest) = lease.split_at(n);
        queue.ack(delivered).unwrap();
        queue.release(rest);
        sent.extend(message.seqs);
        messages += 1;
    }
    assert_eq!(sent, appended, "every reading once, in order");
    assert_eq!(queue.stats().unwrap().counters.pending_count, 0);
    // 300 readings at ~15 B each in 1 KiB messages: a handful, not hundreds.
    assert!(messages <= 8, "{messages} messages");
    drop(queue);

    let reopened = Queue::open(dir.path(), Options::default()).unwrap();
    assert!(
        reopened.lease(100, None).unwrap().is_empty(),
        "acked readings never come back"
    );
}
