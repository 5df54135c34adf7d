//! Every fuzz target's committed inputs, replayed on stable: the seeds (`fuzz/seeds/<target>/`)
//! and the inputs that once made it fail (`fuzz/artifacts/<target>/`, where libFuzzer writes
//! them), each through the target's own body (`fuzz/src/`, included by path), whose asserts
//! are the properties. A fixed bug whose crash input is kept here cannot come back unnoticed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../../fuzz/src/lib.rs"]
#[allow(unreachable_pub)] // public in the fuzz crate, where the libFuzzer binaries call it
mod targets;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files directly in `dir`, sorted (none when it does not exist: a target may have no
/// past crash).
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every seed and past crash of `target` through `fuzz_one`, failing with the list of inputs
/// that panicked; returns how many of each were replayed.
fn replay(target: &str, run: fn(&[u8])) -> (usize, usize) {
    let seeds = inputs(&fuzz_dir().join("seeds").join(target));
    let crashes = inputs(&fuzz_dir().join("artifacts").join(target));
    let mut failed = Vec::new();
    for file in seeds.iter().chain(&crashes) {
        let data = std::fs::read(file).unwrap();
        // Each input on its own, so one failure does not hide the others.
        if catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
            failed.push(file.display().to_string());
        }
    }
    eprintln!(
        "{target}: {} seeds and {} past crashes replayed",
        seeds.len(),
        crashes.len()
    );
    assert!(failed.is_empty(), "{target} fails on {failed:#?}");
    // An emptied or misnamed seed directory would otherwise pass by replaying nothing.
    assert!(!seeds.is_empty(), "no seeds in fuzz/seeds/{target}");
    (seeds.len(), crashes.len())
}

macro_rules! replay_tests {
    ($($target:ident),* $(,)?) => {
        /// The targets with a test here, as named in `fuzz/Cargo.toml`.
        const TARGETS: &[&str] = &[$(stringify!($target)),*];
        $(
            #[test]
            fn $target() {
                replay(stringify!($target), targets::$target::fuzz_one);
            }
        )*
    };
}

replay_tests!(
    content_type,
    expr_eval,
    jsonrpc_parse,
    oauth_challenge,
    oauth_metadata,
    policy_config,
    policy_filter,
    sse_exchange,
);

/// Targets over code outside core, whose seeds that code's own tests replay: `http_answer`,
/// the gateway's HTTP/1.1 answer reader (`gateway-demo/src/serve/h1.rs`, test
/// `fuzz_seeds_replay`).
const REPLAYED_ELSEWHERE: &[&str] = &["http_answer"];

/// A target added to the fuzz crate without a replay here (or, for one over another crate's
/// code, a place in [`REPLAYED_ELSEWHERE`]), or a seed or crash directory named after no
/// target, fails.
#[test]
fn every_target_is_replayed() {
    let names = |dir: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(fuzz_dir().join(dir))
            .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()))
            .into_iter()
            .flatten()
            .collect();
        names.sort();
        names
    };
    let mut expected: Vec<String> = TARGETS
        .iter()
        .chain(REPLAYED_ELSEWHERE)
        .map(|t| (*t).to_owned())
        .collect();
    expected.sort();
    let binaries: Vec<String> = names("fuzz_targets")
        .into_iter()
        .filter_map(|f| f.strip_suffix(".rs").map(str::to_owned))
        .collect();
    assert_eq!(binaries, expected, "fuzz/fuzz_targets");
    assert_eq!(names("seeds"), expected, "fuzz/seeds");
    for dir in names("artifacts") {
        assert!(expected.contains(&dir), "fuzz/artifacts/{dir} is no target");
    }
}
