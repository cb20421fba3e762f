//! The README shows what the examples print: each expected output (checked against the
//! examples themselves by `scripts/examples`) must appear in it word for word.

use std::path::Path;

#[test]
fn the_readme_shows_what_each_example_prints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let outputs = std::fs::read_dir(root.join("examples/output")).unwrap();
    let mut shown = 0;
    for output in outputs {
        let path = output.unwrap().path();
        let printed = std::fs::read_to_string(&path).unwrap();
        let block = format!("```text\n{printed}```");
        assert!(
            readme.contains(&block),
            "README.md lacks {}",
            path.display()
        );
        shown += 1;
    }
    assert_eq!(shown, 3, "one expected output per example");
}
