//! The deployment files as their own tools read them: linters run over them, YAML decoded as
//! CloudFormation decodes it, and the SAM template as CloudFormation would deploy it.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the venv's `tool args` in the repository; its output when it fails.
pub fn passes(tool: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(super::venv_tool(tool))
        .args(args)
        .env("SAM_CLI_TELEMETRY", "0")
        .current_dir(root())
        .output()
        .unwrap();
    match out.status.success() {
        true => Ok(()),
        false => Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// The JSON a Python script prints (run by the venv's python in the repository).
fn python_json(args: &[&str]) -> Value {
    let out = Command::new(super::venv_tool("python"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A YAML file as JSON, CloudFormation's short tags (`!Ref`, `!Sub`, …) as their long form.
pub fn yaml(file: &str) -> Value {
    let script = "import json, sys\n\
        from cfnlint.decode import cfn_yaml\n\
        print(json.dumps(cfn_yaml.load(sys.argv[1]), default=str))";
    python_json(&["-c", script, file])
}

/// The SAM template as CloudFormation would deploy it with these `Name=value` parameters (and
/// the defaults): transformed by the SAM translator, parameters and conditions resolved
/// (`deploy/aws/translate.py`).
pub fn deployed(parameters: &[&str]) -> Value {
    let mut args = vec!["deploy/aws/translate.py", "deploy/aws/template.yaml"];
    args.extend(parameters);
    python_json(&args)
}
