//! The window decisions one behaviour at a time, on made-up instants: what
//! `tests/it/power_windows.rs`, `upload_windows.rs`, `paused_clock.rs` and
//! the daemon's CLI and field tests check end to end, here without a module.

use super::*;

const S: Duration = Duration::from_secs(1);
const MIN: Duration = Duration::from_secs(60);

/// Windows every 15 min, up to 1 min late, early for 100 pending readings.
fn policy() -> WindowPolicy {
    WindowPolicy {
        interval: 15 * MIN,
        max_pending: 100,
        jitter: MIN,
    }
}

/// A daemon's state at `t0` without a doorbell and without jitter.
fn started(t0: Instant) -> WindowState {
    WindowState::new(policy(), t0, 0.0, false)
}

/// A state whose start window has been and gone at `t0`.
fn after_start(t0: Instant) -> WindowState {
    let mut state = started(t0);
    assert_eq!(state.reason(t0, 1), Some(WindowReason::Start));
    state.logged_in();
    state.window_done(t0, 0.0);
    state
}

#[test]
fn the_first_window_opens_at_start_when_readings_wait() {
    let t0 = Instant::now();
    let mut state = started(t0);
    assert_eq!(state.reason(t0, 1), Some(WindowReason::Start));
}

#[test]
fn a_start_with_an_empty_queue_gives_up_the_start_window_and_the_schedule_decides() {
    let t0 = Instant::now();
    let mut state = started(t0);
    assert_eq!(state.reason(t0, 0), None);
    // A reading queued a moment later waits for the slot.
    assert_eq!(state.reason(t0 + S, 1), None);
    assert_eq!(state.reason(t0 + 15 * MIN, 1), Some(WindowReason::Interval));
}

#[test]
fn the_start_window_is_retried_until_it_succeeds() {
    let t0 = Instant::now();
    let mut state = started(t0);
    assert_eq!(state.reason(t0, 1), Some(WindowReason::Start));
    let wait = state.failed(t0, 0.0);
    assert_eq!(state.reason(t0 + wait, 1), Some(WindowReason::Start));
    let again = t0 + wait;
    let wait = state.failed(again, 0.0);
    assert_eq!(state.reason(again + wait, 1), Some(WindowReason::Start));
}

#[test]
fn after_a_window_readings_wait_for_the_next_slot() {
    let t0 = Instant::now();
    let mut state = after_start(t0);
    assert_eq!(state.reason(t0 + S, 99), None);
    assert_eq!(state.reason(t0 + 15 * MIN - S, 99), None);
    assert_eq!(
        state.reason(t0 + 15 * MIN, 99),
        Some(WindowReason::Interval)
    );
}

#[test]
fn windows_come_one_interval_after_the_end_of_the_last_one() {
    let t0 = Instant::now();
    let mut state = after_start(t0);
    assert_eq!(state.next_wake(), Some(t0 + 15 * MIN));
    // The 15-minute window ran for 3 minutes: the next slot counts from
    // its end, so no window follows it back to back.
    let end = t0 + 18 * MIN;
    state.window_done(end, 0.0);
    assert_eq!(state.next_wake(), Some(end + 15 * MIN));
    assert_eq!(state.reason(t0 + 30 * MIN, 10), None);
    assert_eq!(
        state.reason(end + 15 * MIN, 10),
        Some(WindowReason::Interval)
    );
}

#[test]
fn a_slot_opens_up_to_the_jitter_late_and_never_early() {
    let t0 = Instant::now();
    let mut state = after_start(t0);
    for jitter in [0.0, 0.25, 0.999] {
        state.window_done(t0, jitter);
        let slot = state.next_wake().unwrap();
        assert!(slot >= t0 + 15 * MIN && slot < t0 + 16 * MIN, "{jitter}");
        assert_eq!(state.reason(slot - Duration::from_millis(1), 10), None);
        assert_eq!(state.reason(slot, 10), Some(WindowReason::Interval));
    }
    // The jitter factor spreads over `uplink.jitter`: a quarter of a minute.
    state.window_done(t0, 0.25);
    assert_eq!(state.next_wake(), Some(t0 + 15 * MIN + 15 * S));
}

#[test]
fn max_pending_readings_open_a_window_before_the_slot() {
    let t0 = Instant::now();
    let mut state = after_start(t0);
    assert_eq!(state.reason(t0 + S, 99), None);
    assert_eq!(
        state.reason(t0 + S, 100),
        Some(WindowReason::Backlog { pending: 100 })
    );
}

#[test]
fn an_urgent_reading_opens_a_window_at_once_whatever_the_interval() {
    let t0 = Instant::now();
    let mut state = WindowState::new(
        WindowPolicy {
            interval: 3600 * S,
            ..policy()
        },
        t0,
        0.0,
        false,
    );
    state.reason(t0, 0);
    state.queued(false);
    assert_eq!(state.reason(t0 + S, 1), None);
    state.queued(true);
    assert_eq!(state.reason(t0 + S, 2), Some(WindowReason::Urgent));
}

#[test]
fn an_urgent_reading_is_answered_by_the_window_it_opened() {
    let t0 = Instant::now();
    let mut state = after_start(t0);
    state.queued(true);
    // Later readings that are not urgent do not undo it.
    state.queued(false);
    assert_eq!(state.reason(t0 + S, 2), Some(WindowReason::Urgent));
    state.window_done(t0 + 2 * S, 0.0);
    assert_eq!(state.reason(t0 + 3 * S, 2), None);
}

#[test]
fn an_empty_queue_never_opens_a_window_even_at_the_slot_or_for_an_urgent_flag() {
    let t0 = Instant::now();
    let mut state = after_start(t0);
    state.queued(true);
    assert_eq!(state.reason(t0 + 60 * MIN, 0), None);
}

#[test]
fn a_ring_asking_for_an_upload_opens_a_window_even_with_nothing_queued() {
    let t0 = Instant::now();
    let mut state = after_start(t0);
    state.rang(ReadRequest {
        socket: 0,
        pending: 7,
    });
    assert_eq!(
        state.take_ring(),
        Some(ReadRequest {
            socket: 0,
            pending: 7
        })
    );
    assert!(state.doorbell_read(&[DoorbellCommand::Upload]));
    assert!(state.rung());
    assert_eq!(state.reason(t0 + S, 0), Some(WindowReason::Doorbell));
    assert!(!state.take_linger(), "an upload does not wait for commands");
    state.window_done(t0 + 2 * S, 0.0);
    assert!(!state.rung());
    assert_eq!(state.reason(t0 + 3 * S, 0), None);
}

#[test]
fn a_ring_is_read_once() {
    let t0 = Instant::now();
    let mut state = after_start(t0);
    assert_eq!(state.take_ring(), None);
    state.rang(ReadRequest {
        socket: 3,
        pending: 1,
    });
    assert!(state.take_ring().is_some());
    assert_eq!(state.take_ring(), None);
}

#[test]
fn a_ring_without_a_command_opens_no_window_and_lets_the_module_sleep() {
    let t0 = Instant::now();
    let mut state = after_start(t0);
    assert!(!state.doorbell_read(&[]));
    assert_eq!(state.reason(t0 + S, 5), None);
}

#[test]
fn a_ring_asking_for_a_session_makes_its_window_wait_for_commands_once() {
    let t0 = Instant::now();
    let mut state = after_start(t0);
    assert!(state.doorbell_read(&[DoorbellCommand::Session]));
    assert_eq!(state.reason(t0 + S, 0), Some(WindowReason::Doorbell));
    assert!(state.take_linger());
    assert!(!state.take_linger(), "only the window the ring asked for");
}

#[test]
fn a_ring_outranks_the_start_and_the_schedule() {
    let t0 = Instant::now();
    let mut state = started(t0);
    state.doorbell_read(&[DoorbellCommand::Upload]);
    assert_eq!(state.reason(t0, 500), Some(WindowReason::Doorbell));
}

#[test]
fn failed_windows_back_off_from_2_s_doubling_up_to_5_min() {
    let t0 = Instant::now();
    let mut state = after_start(t0);
    let waits: Vec<u64> = (0..10)
        .map(|_| state.failed(t0, 0.999_999).as_secs())
        .collect();
    // Before the jitter: 2, 4, 8, … s; the jitter takes up to half of it
    // off (the factor here is all but 1, so just under the full wait).
    assert_eq!(waits, [1, 3, 7, 15, 31, 63, 127, 255, 299, 299]);
    assert_eq!(state.attempts_failed(), 10);
    let least: Vec<u64> = (0..3).map(|_| state.failed(t0, 0.0).as_secs()).collect();
    assert_eq!(least, [150, 150, 150], "half of the cap at the least");
}

#[test]
fn the_backoff_spreads_a_fleet_between_half_and_all_of_the_wait() {
    let t0 = Instant::now();
    for (jitter, wait) in [(0.0, 1000), (0.5, 1500), (0.75, 1750)] {
        let mut state = after_start(t0);
        assert_eq!(state.failed(t0, jitter), Duration::from_millis(wait));
    }
}

#[test]
fn a_failed_window_is_held_back_until_its_retry_time_then_opens_again() {
    let t0 = Instant::now();
    let mut state = after_start(t0);
    let due = t0 + 15 * MIN;
    assert_eq!(state.reason(due, 5), Some(WindowReason::Interval));
    let wait = state.failed(due, 0.5);
    assert_eq!(wait, Duration::from_millis(1500));
    assert_eq!(state.reason(due + wait - Duration::from_millis(1), 5), None);
    assert_eq!(state.reason(due + wait, 5), Some(WindowReason::Interval));
}

#[test]
fn a_failed_start_window_wakes_the_loop_at_its_retry_time() {
    let t0 = Instant::now();
    let mut state = started(t0);
    assert_eq!(state.reason(t0, 1), Some(WindowReason::Start));
    let wait = state.failed(t0, 0.0);
    assert_eq!(state.next_wake(), Some(t0 + wait), "before the slot");
}

#[test]
fn a_login_resets_the_backoff_and_lifts_the_hold() {
    let t0 = Instant::now();
    let mut state = after_start(t0);
    for _ in 0..6 {
        state.failed(t0, 0.0);
    }
    state.logged_in();
    assert_eq!(state.attempts_failed(), 0);
    assert_eq!(
        state.reason(t0, 100),
        Some(WindowReason::Backlog { pending: 100 })
    );
    assert_eq!(state.failed(t0, 0.0), S, "the first wait again");
}

#[test]
fn the_heartbeat_counts_the_windows_that_got_a_session() {
    let t0 = Instant::now();
    let mut state = started(t0);
    state.failed(t0, 0.0);
    assert_eq!(state.windows_opened(), 0);
    state.logged_in();
    state.window_done(t0, 0.0);
    state.logged_in();
    assert_eq!(state.windows_opened(), 2);
}

/// Windows off: `uplink.interval = "0s"`.
fn continuous(t0: Instant) -> WindowState {
    WindowState::new(
        WindowPolicy {
            interval: Duration::ZERO,
            ..policy()
        },
        t0,
        0.5,
        false,
    )
}

#[test]
fn without_windows_every_reading_goes_as_it_comes() {
    let t0 = Instant::now();
    let mut state = continuous(t0);
    assert!(state.is_continuous());
    assert_eq!(state.reason(t0, 1), Some(WindowReason::Start));
    state.logged_in();
    state.window_done(t0, 0.5);
    assert_eq!(state.next_wake(), None, "no slot to wake for");
    assert_eq!(state.reason(t0 + S, 0), None);
    assert_eq!(state.reason(t0 + S, 1), Some(WindowReason::Continuous));
}

#[test]
fn without_windows_a_lost_session_is_retried_when_readings_come_not_by_a_timer_of_its_own() {
    let t0 = Instant::now();
    let mut state = continuous(t0);
    state.reason(t0, 1);
    state.logged_in();
    state.window_done(t0, 0.0);
    let wait = state.failed(t0 + S, 0.0);
    assert_eq!(state.next_wake(), None);
    assert_eq!(
        state.reason(t0 + S + wait - Duration::from_millis(1), 3),
        None
    );
    assert_eq!(
        state.reason(t0 + S + wait, 3),
        Some(WindowReason::Continuous)
    );
    // An urgent reading wants a window of its own: its retry wakes the loop.
    state.failed(t0 + 2 * S, 0.0);
    state.queued(true);
    assert!(state.next_wake().is_some());
}

#[test]
fn the_start_window_is_wanted_even_without_windows_so_its_retry_wakes_the_loop() {
    let t0 = Instant::now();
    let mut state = continuous(t0);
    let wait = state.failed(t0, 0.0);
    assert_eq!(state.next_wake(), Some(t0 + wait));
}

#[test]
fn a_silent_module_is_reported_once_until_it_answers_again() {
    let t0 = Instant::now();
    let mut state = started(t0);
    assert!(!state.silence_reported());
    assert!(state.silent(), "reported the first time");
    assert!(!state.silent(), "not again");
    assert!(state.silence_reported());
    assert!(state.answered(), "it answers again: said so");
    assert!(!state.answered(), "said once");
    assert!(state.silent(), "a new silence is reported again");
}

#[test]
fn only_a_daemon_with_a_doorbell_keeps_one() {
    let t0 = Instant::now();
    assert!(WindowState::new(policy(), t0, 0.0, true).keeps_doorbell());
    assert!(!started(t0).keeps_doorbell());
}

#[test]
fn a_failed_interval_window_wakes_the_loop_at_its_retry_not_at_the_slot_that_passed() {
    let t0 = Instant::now();
    let mut state = after_start(t0);
    let slot = t0 + 15 * MIN;
    assert_eq!(state.reason(slot, 1), Some(WindowReason::Interval));
    let wait = state.failed(slot, 0.0);
    // The slot is in the past now: waking for it would spin the loop
    // until the retry.
    assert_eq!(state.next_wake(), Some(slot + wait));
    assert_eq!(state.reason(slot + wait / 2, 1), None);
    assert_eq!(state.reason(slot + wait, 1), Some(WindowReason::Interval));
}

#[test]
fn a_server_that_cannot_take_the_window_holds_the_next_back_at_least_its_retry_after() {
    let t0 = Instant::now();
    let mut state = after_start(t0);
    // A backlog that would open a window at once.
    assert_eq!(
        state.reason(t0 + S, 100),
        Some(WindowReason::Backlog { pending: 100 })
    );
    state.opened();
    let wait = state.held_off(t0 + S, 0.0, Some(2 * MIN));
    state.window_done(t0 + S, 0.0);
    assert_eq!(wait, 2 * MIN);
    assert_eq!(state.reason(t0 + S + MIN, 100), None);
    assert_eq!(state.next_wake(), Some(t0 + S + 2 * MIN));
    assert_eq!(
        state.reason(t0 + S + 2 * MIN, 100),
        Some(WindowReason::Backlog { pending: 100 })
    );
}

#[test]
fn without_retry_after_the_backoff_grows_until_a_message_is_delivered() {
    let t0 = Instant::now();
    let mut state = after_start(t0);
    let mut now = t0;
    let mut waits = Vec::new();
    for _ in 0..3 {
        // Opening an HTTP window proves nothing: the backoff goes on.
        state.opened();
        let wait = state.held_off(now, 0.0, None);
        state.window_done(now, 0.0);
        waits.push(wait);
        now += wait;
    }
    assert!(waits[0] < waits[1] && waits[1] < waits[2], "{waits:?}");
    state.delivered();
    assert_eq!(state.held_off(now, 0.0, None), waits[0]);
    assert_eq!(state.windows_opened(), 4);
}
