//! The power manager against a scripted module: exact vote transcripts,
//! the sleep settings, the status from sleep URCs, the restore.

use std::time::Duration;

use super::*;
use crate::modem::at::Raw;
use crate::modem::mqtt::profile::{provision, MqttProfile, Provisioned};
use crate::modem::power::SleepMode;
use crate::modem::test_peer::{start, Peer};
use crate::store::{OpenMode, Store};

const DOWN: &str = "AT+USLPVOTE=0,0";
const UP: &str = "AT+USLPVOTE=0,1";

/// A command standing for the guarded work.
async fn work(at: &crate::modem::at::AtClient) {
    at.send_raw(&Raw::new("AT+CGMI")).await.unwrap();
}

/// Lets every other task run (the vote-up task in particular).
async fn let_others_run() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

/// Votes in the transcript, in order.
fn votes(peer: &Peer) -> Vec<&str> {
    peer.log
        .iter()
        .map(String::as_str)
        .filter(|l| *l == DOWN || *l == UP)
        .collect()
}

#[tokio::test]
async fn the_first_guard_votes_down_before_the_work_and_the_last_drop_votes_up() {
    let (at, mut peer) = start();
    let power = PowerManager::new(at.clone());
    let module = async {
        peer.ok(DOWN).await;
        peer.ok("AT+CGMI").await;
        peer.ok(UP).await;
    };
    let host = async {
        let guard = power.acquire().await.unwrap();
        assert_eq!(power.guards(), 1);
        work(&at).await;
        drop(guard);
    };
    tokio::join!(module, host);
    assert_eq!(peer.log, [DOWN, "AT+CGMI", UP]);
    assert_eq!(power.guards(), 0);
}

#[tokio::test]
async fn nested_guards_send_one_down_and_one_up() {
    let (at, mut peer) = start();
    let power = PowerManager::new(at.clone());
    let module = async {
        peer.ok(DOWN).await;
        peer.ok("AT+CGMI").await;
        peer.ok("AT+CGMI").await;
        peer.ok(UP).await;
    };
    let host = async {
        let outer = power.acquire().await.unwrap();
        let inner = power.acquire().await.unwrap();
        work(&at).await;
        drop(outer);
        let_others_run().await;
        // The inner guard still holds the module awake.
        work(&at).await;
        drop(inner);
    };
    tokio::join!(module, host);
    assert_eq!(peer.log, [DOWN, "AT+CGMI", "AT+CGMI", UP]);
}

#[tokio::test]
async fn an_acquire_right_after_the_last_drop_cancels_the_queued_vote_up() {
    let (at, mut peer) = start();
    let power = PowerManager::new(at.clone());
    let module = async {
        peer.ok(DOWN).await;
        // No vote up in between: the queued one found a guard.
        peer.ok("AT+CGMI").await;
        peer.ok(UP).await;
    };
    let host = async {
        let first = power.acquire().await.unwrap();
        drop(first);
        // No await between the drop and the acquire's count: the vote-up
        // task has not run yet.
        let second = power.acquire().await.unwrap();
        let_others_run().await;
        work(&at).await;
        drop(second);
    };
    tokio::join!(module, host);
    assert_eq!(peer.log, [DOWN, "AT+CGMI", UP]);
}

#[tokio::test]
async fn an_acquire_during_an_unanswered_vote_up_waits_and_votes_down_again() {
    let (at, mut peer) = start();
    let power = PowerManager::new(at.clone());
    let (first, ()) = tokio::join!(power.acquire(), peer.ok(DOWN));
    drop(first.unwrap());
    // The vote up is on the wire; the module has not answered yet.
    assert_eq!(peer.command().await, UP);
    let second = tokio::spawn({
        let power = power.clone();
        async move { power.acquire().await }
    });
    let_others_run().await;
    assert!(
        !second.is_finished(),
        "a guard was handed out while the vote up was pending"
    );
    peer.say(b"\r\nOK\r\n").await;
    assert_eq!(peer.command().await, DOWN);
    assert!(
        !second.is_finished(),
        "handed out before the vote down's OK"
    );
    peer.say(b"\r\nOK\r\n").await;
    let second = second.await.unwrap().unwrap();
    assert_eq!(power.guards(), 1);
    assert_eq!(votes(&peer), [DOWN, UP, DOWN]);
    drop(second);
    assert_eq!(peer.command().await, UP);
}

#[tokio::test]
async fn quick_acquire_drop_cycles_alternate_votes_and_end_voted_down() {
    let (at, mut peer) = start();
    let power = PowerManager::new(at.clone());
    let host = async {
        for _ in 0..5 {
            drop(power.acquire().await.unwrap());
            tokio::task::yield_now().await;
        }
        let last = power.acquire().await.unwrap();
        work(&at).await;
        last
    };
    let module = async {
        loop {
            let cmd = peer.command().await;
            peer.say(b"\r\nOK\r\n").await;
            if cmd == "AT+CGMI" {
                break;
            }
        }
    };
    let (last, ()) = tokio::join!(host, module);
    let seen = votes(&peer);
    assert_eq!(seen.first(), Some(&DOWN));
    assert_eq!(seen.last(), Some(&DOWN), "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0] != w[1]),
        "two equal votes in a row: {seen:?}"
    );
    drop(last);
}

#[tokio::test]
async fn a_refused_vote_down_fails_the_acquire_and_the_release_votes_up() {
    let (at, mut peer) = start();
    let power = PowerManager::new(at.clone());
    let module = async {
        assert_eq!(peer.command().await, DOWN);
        peer.say(b"\r\n+CME ERROR: operation not allowed\r\n").await;
        // The module's vote is unknown now: the release says "up" to be sure.
        peer.ok(UP).await;
    };
    let (acquired, ()) = tokio::join!(power.acquire(), module);
    assert!(matches!(acquired, Err(PowerError::Vote(_))), "{acquired:?}");
    assert_eq!(power.guards(), 0);
}

const USB_READ: &str = "AT+UUSBCONF?";
const USB_OFF: &str = "AT+UUSBCONF=99";

impl Peer {
    /// Expects the USB profile read and answers `+UUSBCONF: <profile>`.
    async fn usb_profile(&mut self, profile: &str) {
        assert_eq!(self.command().await, USB_READ);
        self.say(format!("\r\n+UUSBCONF: {profile}\r\n\r\nOK\r\n").as_bytes())
            .await;
    }
}

fn config(deepest: SleepMode) -> PowerSettings {
    PowerSettings {
        deepest,
        ..PowerSettings::default()
    }
}

#[tokio::test]
async fn configure_sends_the_sleep_settings_and_leaves_the_module_voted_up() {
    let (at, mut peer) = start();
    let power = PowerManager::new(at.clone());
    let module = async {
        peer.ok("AT+UPSV=1,5000,4").await;
        peer.ok("AT+USLPVOTE=1,2").await;
        peer.ok("AT+USLPURC=\"SLEEP2\",1").await;
        peer.ok("AT+USLPURC=\"HIBNATE\",1").await;
        peer.usb_profile("99").await;
        peer.ok(UP).await;
    };
    let c = config(SleepMode::Hibernate);
    let (done, ()) = tokio::join!(power.configure(&c), module);
    done.unwrap();
    assert_eq!(power.status().state, PowerState::Awake);

    // Sleep-2 at most: no Hibernate URC; the module is voted up already.
    peer.log.clear();
    let mut c = config(SleepMode::Sleep2);
    c.sleep_timeout = std::time::Duration::from_millis(1500);
    c.vote_level = SleepMode::Sleep2;
    let module = async {
        peer.ok("AT+UPSV=1,1500,3").await;
        peer.ok("AT+USLPVOTE=1,3").await;
        peer.ok("AT+USLPURC=\"SLEEP2\",1").await;
        // The USB profile was read once; it lives in NVM.
        peer.ok(UP).await;
    };
    let (done, ()) = tokio::join!(power.configure(&c), module);
    done.unwrap();

    // Sleep-1 only: no sleep URCs at all.
    peer.log.clear();
    let module = async {
        peer.ok("AT+UPSV=1,5000,2").await;
        peer.ok("AT+USLPVOTE=1,2").await;
        peer.ok(UP).await;
    };
    let c = config(SleepMode::Sleep1);
    let (done, ()) = tokio::join!(power.configure(&c), module);
    done.unwrap();
}

#[tokio::test]
async fn with_power_saving_off_guards_send_no_votes() {
    let (at, mut peer) = start();
    let power = PowerManager::new(at.clone());
    let off = PowerSettings {
        enabled: false,
        ..config(SleepMode::Hibernate)
    };
    let (done, ()) = tokio::join!(power.configure(&off), peer.ok("AT+UPSV=0"));
    done.unwrap();
    let host = async {
        let guard = power.acquire().await.unwrap();
        work(&at).await;
        drop(guard);
        power.settle().await.unwrap();
        work(&at).await;
    };
    let module = async {
        peer.ok("AT+CGMI").await;
        peer.ok("AT+CGMI").await;
    };
    tokio::join!(host, module);
    assert_eq!(peer.log, ["AT+UPSV=0", "AT+CGMI", "AT+CGMI"]);
}

#[tokio::test]
async fn configure_under_a_guard_votes_down_again_after_the_vote_level() {
    let (at, mut peer) = start();
    let power = PowerManager::new(at.clone());
    let (guard, ()) = tokio::join!(power.acquire(), peer.ok(DOWN));
    let guard = guard.unwrap();
    let module = async {
        peer.ok("AT+UPSV=1,5000,4").await;
        peer.ok("AT+USLPVOTE=1,2").await;
        peer.ok("AT+USLPURC=\"SLEEP2\",1").await;
        peer.ok("AT+USLPURC=\"HIBNATE\",1").await;
        peer.usb_profile("99").await;
        peer.ok(DOWN).await;
    };
    let c = config(SleepMode::Hibernate);
    let (done, ()) = tokio::join!(power.configure(&c), module);
    done.unwrap();
    drop(guard);
    assert_eq!(peer.command().await, UP);
}

const SLEEP_SETTINGS: [&str; 4] = [
    "AT+UPSV=1,5000,4",
    "AT+USLPVOTE=1,2",
    "AT+USLPURC=\"SLEEP2\",1",
    "AT+USLPURC=\"HIBNATE\",1",
];

#[tokio::test]
async fn usb_is_turned_off_only_when_the_module_does_not_hold_it_off() {
    let (at, mut peer) = start();
    let power = PowerManager::new(at.clone());
    let c = config(SleepMode::Hibernate);
    let module = async {
        for cmd in SLEEP_SETTINGS {
            peer.ok(cmd).await;
        }
        peer.usb_profile("0,\"\",,").await;
        peer.ok(USB_OFF).await;
        peer.ok(UP).await;
    };
    let (done, ()) = tokio::join!(power.configure(&c), module);
    done.unwrap();
    let mut want: Vec<&str> = SLEEP_SETTINGS.to_vec();
    want.extend([USB_READ, USB_OFF, UP]);
    assert_eq!(peer.log, want);

    // The next configure (after a deep sleep) does not ask again: the
    // profile is in NVM.
    configure_without_usb(&power, &mut peer, &c).await;

    // A module that holds it off already (the next agent process): the
    // read only.
    let (at, mut peer) = start();
    let power = PowerManager::new(at.clone());
    let module = async {
        for cmd in SLEEP_SETTINGS {
            peer.ok(cmd).await;
        }
        peer.usb_profile("99").await;
        peer.ok(UP).await;
    };
    let (done, ()) = tokio::join!(power.configure(&c), module);
    done.unwrap();
    let mut want: Vec<&str> = SLEEP_SETTINGS.to_vec();
    want.extend([USB_READ, UP]);
    assert_eq!(peer.log, want);
}

#[tokio::test]
async fn with_usb_off_false_the_usb_profile_is_never_touched() {
    let (at, mut peer) = start();
    let power = PowerManager::new(at.clone());
    let c = PowerSettings {
        usb_off: false,
        ..config(SleepMode::Hibernate)
    };
    configure_without_usb(&power, &mut peer, &c).await;
}

#[tokio::test]
async fn a_module_without_uusbconf_is_warned_about_once_and_not_asked_again() {
    let (at, mut peer) = start();
    let power = PowerManager::new(at.clone());
    let c = config(SleepMode::Hibernate);
    let module = async {
        for cmd in SLEEP_SETTINGS {
            peer.ok(cmd).await;
        }
        assert_eq!(peer.command().await, USB_READ);
        peer.say(b"\r\nERROR\r\n").await;
        peer.ok(UP).await;
    };
    let (done, ()) = tokio::join!(power.configure(&c), module);
    done.unwrap();
    assert_eq!(
        power.status().state,
        PowerState::Awake,
        "configured all the same"
    );

    configure_without_usb(&power, &mut peer, &c).await;
}

#[tokio::test]
async fn the_status_follows_the_sleep_urcs() {
    let (at, mut peer) = start();
    let power = PowerManager::new(at.clone());
    let mut watch = power.watch();
    peer.say(b"\r\n+UUSLPURC: HIB 1\r\n").await;
    watch.changed().await.unwrap();
    let s = *watch.borrow_and_update();
    assert_eq!(s.state, PowerState::Hibernate);
    assert!(s.needs_restore);
    peer.say(b"\r\n+UUSLPURC: HIB 0\r\n").await;
    watch.changed().await.unwrap();
    assert_eq!(watch.borrow_and_update().state, PowerState::Awake);
    assert!(power.status().needs_restore);
    assert_eq!(power.status().deep_sleeps, 1);
    power.note_reboot();
    assert!(watch.has_changed().unwrap());
}

#[tokio::test(start_paused = true)]
async fn the_restore_reapplies_the_settings_and_reloads_the_profile_without_writing_nvm() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), OpenMode::Agent, |_| Ok(())).unwrap();
    let (at, mut peer) = start();
    let power = PowerManager::new(at.clone());
    let profile = MqttProfile::example(1883);

    // An earlier window stored the profile in NVM.
    let n = profile.settings().len() + 1;
    let module = async {
        for _ in 0..n {
            peer.command().await;
            peer.say(b"\r\nOK\r\n").await;
        }
    };
    let (written, ()) = tokio::join!(provision(&at, &store, &profile), module);
    assert_eq!(written.unwrap(), Provisioned::Written);
    peer.log.clear();

    // Hibernate, then woken.
    peer.say(b"\r\n+UUSLPURC: HIB 1\r\n+UUSLPURC: HIB 0\r\n")
        .await;
    let mut watch = power.watch();
    watch
        .wait_for(|s| s.needs_restore && s.state == PowerState::Awake)
        .await
        .unwrap();

    let (guard, ()) = tokio::join!(power.acquire(), peer.ok(DOWN));
    let guard = guard.unwrap();
    let module = async {
        for cmd in [
            "ATE0",
            "AT+CMEE=2",
            "AT+UPSV=1,5000,4",
            "AT+USLPVOTE=1,2",
            "AT+USLPURC=\"SLEEP2\",1",
            "AT+USLPURC=\"HIBNATE\",1",
        ] {
            peer.ok(cmd).await;
        }
        // USB off is in NVM: the restore reads it and, as it is off
        // already, writes nothing.
        peer.usb_profile("99").await;
        peer.ok(DOWN).await;
        peer.ok("AT+UMQTTNV=1").await;
    };
    let c = config(SleepMode::Hibernate);
    let (restored, ()) = tokio::join!(
        restore_after_deep_sleep(&guard, &at, &c, &store, &profile),
        module
    );
    assert_eq!(restored.unwrap(), Provisioned::Reloaded);
    assert!(!power.status().needs_restore);
    assert!(
        !peer
            .log
            .iter()
            .any(|l| l.starts_with("AT+UMQTT=") || l == "AT+UMQTTNV=2" || l == USB_OFF),
        "{:?}",
        peer.log
    );
    drop(guard);
    assert_eq!(peer.command().await, UP);
    // Nothing after the vote up: the module may sleep.
    let quiet = tokio::time::timeout(Duration::from_secs(60), peer.command()).await;
    assert!(quiet.is_err(), "{quiet:?}");
}

/// The invariant, enforced: no file but the power manager's sends votes.
#[test]
fn no_code_outside_the_power_manager_sends_sleep_votes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed = [
        "modem/power.rs",
        "power/guard.rs",
        "power/manager.rs",
        "power/mod.rs",
        "power/tests.rs",
        "modem/at/codec_tests.rs",
    ];
    let mut offenders = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.extension().is_none_or(|e| e != "rs") || allowed.contains(&rel.as_str()) {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Code, not prose: docs elsewhere may name the command.
            if ["\"AT+USLPVOTE", "Vote::Down", "Vote::Up", "ConfigureVote {"]
                .iter()
                .any(|needle| text.contains(needle))
            {
                offenders.push(rel);
            }
        }
    }
    assert!(offenders.is_empty(), "sleep votes sent from {offenders:?}");
}

/// Configures `c` on a module that answers the sleep settings and the vote,
/// and checks that nothing else was sent: no USB read or write.
async fn configure_without_usb(power: &PowerManager, peer: &mut Peer, c: &PowerSettings) {
    peer.log.clear();
    let module = async {
        for cmd in SLEEP_SETTINGS {
            peer.ok(cmd).await;
        }
        peer.ok(UP).await;
    };
    let (done, ()) = tokio::join!(power.configure(c), module);
    done.unwrap();
    let mut want: Vec<&str> = SLEEP_SETTINGS.to_vec();
    want.push(UP);
    assert_eq!(peer.log, want);
}
