//! Build script: the git revision `edge-agent --version` shows.
//!
//! `git rev-parse --short HEAD` of the repository this package is in, or
//! `unknown` where there is none (a source tarball) or git is missing.
//! Cargo reruns this only when HEAD moves (`.git/HEAD`, the branch's ref, or
//! `packed-refs`), not on every edit of the sources.
//!
//! The variable is named outside `EDGE_AGENT_*`: `cargo run` and `cargo
//! test` pass `rustc-env` variables to the program too, and the agent reads
//! every `EDGE_AGENT_*` variable as configuration.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What the binary reads with `env!`.
const VARIABLE: &str = "BUILD_GIT_REV";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let revision = git_revision(&manifest_dir).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env={VARIABLE}={revision}");
}

/// The short revision of HEAD, watching the files that change when it moves;
/// `None` without git or outside this project's own repository.
fn git_revision(manifest_dir: &Path) -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(manifest_dir)
            .output()
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
    };
    // A tarball unpacked inside some other repository (a packaging one)
    // must not report that repository's revision.
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?);
    let workspace = manifest_dir.parent()?;
    if top.canonicalize().ok()? != workspace.canonicalize().ok()? {
        return None;
    }
    let revision = git(&["rev-parse", "--short", "HEAD"])?;

    // `--git-path` finds the files in a worktree too (whose `.git` is a
    // file pointing elsewhere). Only existing files are watched: cargo
    // reruns the script every time for a path that does not exist.
    let watch = |name: &str| {
        if let Some(path) = git(&["rev-parse", "--git-path", name]) {
            let path = manifest_dir.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            } else if let Some(dir) = path.parent().filter(|dir| dir.exists()) {
                // A branch whose ref is only in packed-refs gets a loose
                // file at its next commit, in this directory.
                println!("cargo:rerun-if-changed={}", dir.display());
            }
        }
    };
    watch("HEAD");
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch(&branch);
    }
    if let Some(packed) = git(&["rev-parse", "--git-path", "packed-refs"]) {
        let packed = manifest_dir.join(packed);
        if packed.exists() {
            println!("cargo:rerun-if-changed={}", packed.display());
        }
    }
    Some(revision)
}
