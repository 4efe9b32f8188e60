//! The store as a whole: atomic commits read back in key order, the fsyncs
//! an open and a flush issue, the lock, and damaged stores moved aside.

use super::*;

fn no_check(_: &Store) -> Result<(), StoreError> {
    Ok(())
}

#[test]
fn writes_commit_atomically_across_trees_and_read_back_in_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q");
    let store = Store::open(&path, OpenMode::Agent, no_check).unwrap();
    let mut w = WriteSet::new();
    for seq in [3u64, 1, 2] {
        w.insert(TreeId::Readings, seq.to_be_bytes(), vec![seq as u8]);
    }
    w.insert(TreeId::Meta, *b"k", b"v".to_vec());
    store.commit(&w).unwrap();
    store.flush().unwrap();
    let keys: Vec<_> = store
        .iter_from(TreeId::Readings, &[])
        .map(|e| e.unwrap().1[0])
        .collect();
    assert_eq!(keys, [1, 2, 3]);
    assert_eq!(store.get(TreeId::Meta, b"k").unwrap(), Some(b"v".to_vec()));
    assert_eq!(store.last(TreeId::Readings).unwrap().unwrap().1, [3]);
    drop(store);

    let store = Store::open(&path, OpenMode::Inspect, no_check).unwrap();
    assert_eq!(store.first(TreeId::Readings).unwrap().unwrap().1, [1]);
    assert!(store.moved_aside().is_none());
}

#[test]
fn an_open_syncs_the_files_and_the_directories_it_created_and_a_flush_syncs_the_log() {
    let dir = tempfile::tempdir().unwrap();
    // Two directories the open creates: the store's and its parent.
    let path = dir.path().join("state").join("q");
    let store = Store::open(&path, OpenMode::Agent, no_check).unwrap();
    // conf, db, the store's directory, and the parents of `q` and `state`.
    assert_eq!(store.syncs(), 5);
    let mut w = WriteSet::new();
    w.insert(TreeId::Meta, *b"k", vec![1]);
    store.commit(&w).unwrap();
    assert_eq!(store.syncs(), 5, "a commit alone does not sync");
    store.flush().unwrap();
    assert_eq!(store.syncs(), 6);
    drop(store);
    // Reopened: nothing created, the files and the directory again
    // (sled renamed a new snapshot into it).
    let store = Store::open(&path, OpenMode::Agent, no_check).unwrap();
    assert_eq!(store.syncs(), 3);
}

#[test]
fn a_second_open_while_the_first_holds_the_store_says_the_agent_is_running() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q");
    let _held = Store::open(&path, OpenMode::Agent, no_check).unwrap();
    for mode in [OpenMode::Inspect, OpenMode::Agent] {
        let e = Store::open(&path, mode, no_check).unwrap_err();
        assert!(matches!(e, StoreError::Locked { .. }), "{e}");
        assert!(e.to_string().contains("the agent is running"), "{e}");
    }
    // Nothing was moved aside.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn inspecting_a_missing_store_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q");
    let e = Store::open(&path, OpenMode::Inspect, no_check).unwrap_err();
    assert!(matches!(e, StoreError::NotFound { .. }), "{e}");
    assert!(!path.exists());
}

#[test]
fn a_store_sled_cannot_open_is_moved_aside_intact_by_the_agent_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q");
    std::fs::create_dir(&path).unwrap();
    // A `conf` sled cannot parse.
    std::fs::write(path.join("conf"), b"\xff\xfe garbage").unwrap();

    let e = Store::open(&path, OpenMode::Inspect, no_check).unwrap_err();
    assert!(matches!(e, StoreError::Damaged { .. }), "{e}");
    assert!(path.join("conf").exists());

    let store = Store::open(&path, OpenMode::Agent, no_check).unwrap();
    let moved = store.moved_aside().unwrap().clone();
    assert_eq!(moved.from, path);
    let name = moved.to.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("q.corrupt-"), "{name}");
    assert_eq!(
        std::fs::read(moved.to.join("conf")).unwrap(),
        b"\xff\xfe garbage"
    );
    // The new store works.
    let mut w = WriteSet::new();
    w.insert(TreeId::Meta, *b"k", vec![1]);
    store.commit(&w).unwrap();
    store.flush().unwrap();
}

#[test]
fn a_failing_check_that_reports_damage_moves_the_store_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q");
    drop(Store::open(&path, OpenMode::Agent, no_check).unwrap());
    let mut first = true;
    let store = Store::open(&path, OpenMode::Agent, |_| {
        if std::mem::take(&mut first) {
            panic!("simulated damage found while reading");
        }
        Ok(())
    })
    .unwrap();
    let moved = store.moved_aside().unwrap();
    assert!(
        moved.reason.contains("simulated damage"),
        "{}",
        moved.reason
    );
    assert!(moved.to.join("db").exists());
}
