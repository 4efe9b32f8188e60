//! The SDK refuses to build for `panic = "abort"`: a plugin built that way
//! would abort the whole agent on its first panic instead of reporting
//! STATUS_PANICKED. The crate has no dependencies, so `rustc` can compile it
//! on its own, once per strategy.

use std::path::Path;
use std::process::Command;

/// Compiles the SDK as a library with `-C panic=<strategy>`; returns
/// whether it built, and rustc's diagnostics.
fn build_sdk_with(strategy: &str) -> (bool, String) {
    let out_dir = tempfile::tempdir().expect("a temporary directory");
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs");
    // Cargo tells build scripts and tests which rustc it uses; fall back to
    // the one on PATH when run some other way.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(&rustc)
        .args(["--edition", "2021", "--crate-type", "lib", "--crate-name"])
        .arg("edge_agent_sdk")
        .arg("-C")
        .arg(format!("panic={strategy}"))
        .arg("--out-dir")
        .arg(out_dir.path())
        .arg(&lib)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {rustc}: {e}"));
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_sdk_builds_with_panic_unwind() {
    let (built, diagnostics) = build_sdk_with("unwind");
    assert!(built, "{diagnostics}");
}

#[test]
fn the_sdk_refuses_to_build_with_panic_abort_and_says_why() {
    let (built, diagnostics) = build_sdk_with("abort");
    assert!(!built, "built with panic=abort: {diagnostics}");
    assert!(
        diagnostics.contains("edge-agent-sdk needs `panic = \"unwind\"`"),
        "{diagnostics}"
    );
}
