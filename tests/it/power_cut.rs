//! Power cuts: the queue's writer stopped dead and the disk taken as it is
//! at that instant, many times over, each "reboot" continuing on the disk
//! the cut left.
//!
//! The disk is an ext4 file system in an image file on a loop device. A
//! cut is: SIGKILL the writer (the child of `queue_crash.rs`, appending
//! with `sync = "batch"`, leasing, acking and keeping a state value, each
//! reported only once durable), then at once copy the image file. What the
//! copy holds is what the device had been given: data still in the kernel's
//! page cache of the mounted file system, or metadata not yet committed to
//! its journal, is not in it, exactly as after a power cut. The copy then
//! becomes the disk: mounted (ext4 replays its journal, as at boot), checked
//! as the agent would open it, and written on by the next writer.
//!
//! Checks after every cut (`queue_crash::Ledger`): the store opens without
//! being moved aside and without a corrupt record; every reading whose
//! append returned is there unless it was acked; no reading whose ack
//! returned came back (only the one being acked at the cut may); sequence
//! numbers never go back; the counters match the data; the state value is
//! the last one reported or a later one.
//!
//! Needs root, `losetup`, `mkfs.ext4` and loop devices (CI has them). A
//! missing one fails the test: it never skips.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::queue_crash::{CrashChild, Ledger, Rng};

/// How many cuts.
const CUTS: u64 = 16;
/// The disk. Big enough for every cut's backlog with sled's overhead.
const IMAGE_MIB: u64 = 64;

/// Runs a system command, failing the test with its output if it fails.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (needed for the power-cut test): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// An image mounted through a loop device; unmounted and detached on drop
/// (also when a check fails), so a failed run leaves no mount behind.
struct Mounted {
    device: String,
    at: PathBuf,
}

impl Mounted {
    fn new(image: &Path, at: &Path) -> Mounted {
        let device = run("losetup", &["--find", "--show", &image.to_string_lossy()]);
        let mounted = Mounted {
            device,
            at: at.to_path_buf(),
        };
        run("mount", &[&mounted.device, &at.to_string_lossy()]);
        mounted
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.at).status();
        let _ = Command::new("losetup").args(["-d", &self.device]).status();
    }
}

#[test]
fn a_power_cut_at_random_moments_loses_no_reading_whose_append_returned_and_revives_no_acked_one() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("disk.img");
    let cut = dir.path().join("cut.img");
    let mount_point = dir.path().join("mnt");
    std::fs::create_dir(&mount_point).unwrap();
    std::fs::File::create(&image)
        .unwrap()
        .set_len(IMAGE_MIB << 20)
        .unwrap();
    run("mkfs.ext4", &["-q", "-F", &image.to_string_lossy()]);
    let queue_dir = mount_point.join("state").join("queue");

    let mut rng = Rng::new(0x9077_E2C7);
    let mut ledger = Ledger::default();
    let mut cuts_before_open = 0;
    for round in 0..CUTS {
        let what = format!("cut {round}");
        let mounted = Mounted::new(&image, &mount_point);
        let mut child = CrashChild::spawn(&queue_dir, 1_000 + round);
        // Some cuts land while the store is being created or recovered; the
        // rest while it appends, acks and keeps state, up to 1.5 s in (ext4
        // commits its journal every 5 s, so unsynced data would be lost).
        if rng.below(5) == 0 {
            std::thread::sleep(Duration::from_millis(rng.below(60)));
        } else {
            child.wait_open(&what);
            std::thread::sleep(Duration::from_millis(100 + rng.below(1_400)));
        }
        let lines = child.kill(&what);
        // The cut: the device's contents at this instant.
        std::fs::copy(&image, &cut).unwrap();
        if !lines.iter().any(|l| l.starts_with("open ")) {
            cuts_before_open += 1;
        }
        ledger.read(&lines);
        // The reboot: the old file system and its page cache are gone, the
        // cut's copy is the disk.
        drop(mounted);
        std::fs::rename(&cut, &image).unwrap();
        let mounted = Mounted::new(&image, &mount_point);
        ledger.check(&queue_dir);
        drop(mounted);
    }
    // Worth something only if the writers got work done.
    assert!(ledger.opens >= CUTS / 2, "{} opens", ledger.opens);
    assert!(
        ledger.flushed.len() > 1_000,
        "{} flushed",
        ledger.flushed.len()
    );
    assert!(ledger.acked.len() > 500, "{} acked", ledger.acked.len());
    assert!(ledger.kept.is_some(), "no state value was kept");
    eprintln!(
        "{CUTS} power cuts ({cuts_before_open} before the queue was open): {} readings appended \
         and flushed, {} acked",
        ledger.flushed.len(),
        ledger.acked.len()
    );
}
