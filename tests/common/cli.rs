//! The `csvgate` binary run to its end in a folder, and what its output says.

use std::path::Path;
use std::process::Output;

/// `csvgate ARGS` in `dir`.
pub fn csvgate(dir: &Path, args: &[&str]) -> Output {
    super::csvgate_in(dir).args(args).output().unwrap()
}

/// `csvgate sql QUERY` in `dir`, with `flags` first and `engine` (if any) after.
pub fn sql(dir: &Path, flags: &[&str], query: &str) -> Output {
    let engine: &[&str] = match flags.contains(&"--target") {
        true => &["--engine", "mysql"],
        false => &[],
    };
    csvgate(dir, &[flags, &["sql", query], engine].concat())
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The command exited with `code` (1: some objects failed, 2: could not run) and its error
/// output says `message`.
pub fn assert_fails_saying(output: &Output, code: i32, message: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(message), "{stderr}");
}
