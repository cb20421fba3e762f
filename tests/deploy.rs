//! The deployment files: the AWS SAM template of the first AWS version's architecture, the Dockerfile and
//! compose.yaml, checked by their linters (installed by `scripts/services`) and read for what
//! a skeleton would lack.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `tool args` in the repository; its output when it fails.
fn passes(name: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(common::venv_tool(name))
        .args(args)
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

/// A YAML file as JSON, CloudFormation's short tags (`!Ref`, `!Sub`, …) as their long form.
fn yaml(file: &str) -> Value {
    let script = "import json, sys\n\
        from cfnlint.decode import cfn_yaml\n\
        print(json.dumps(cfn_yaml.load(sys.argv[1]), default=str))";
    let out = Command::new(common::venv_tool("python"))
        .args(["-c", script, file])
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

#[test]
fn the_sam_template_passes_cfn_lint() {
    passes("cfn-lint", &["deploy/aws/template.yaml"]).unwrap();
}

#[test]
fn the_template_wires_what_the_seed_had() {
    let template = yaml("deploy/aws/template.yaml");
    let resources = &template["Resources"];
    let function = &resources["CsvgateFunction"]["Properties"];
    assert_eq!(function["Runtime"], "provided.al2023");

    // The landing bucket's ObjectCreated notification starts the function.
    let created = &function["Events"]["ObjectCreated"];
    assert_eq!(created["Type"], "S3");
    assert_eq!(
        created["Properties"]["Bucket"],
        serde_json::json!({"Ref": "LandingBucket"})
    );
    assert_eq!(created["Properties"]["Events"], "s3:ObjectCreated:*");

    // PUT /{bucket}/{key} needs an API key, counted by a usage plan.
    let api = &resources["UploadApi"]["Properties"]["DefinitionBody"];
    let put = &api["paths"]["/{bucket}/{key+}"]["put"];
    assert_eq!(put["security"], serde_json::json!([{"api_key": []}]));
    assert_eq!(api["x-amazon-apigateway-api-key-source"], "HEADER");
    assert_eq!(
        resources["UploadUsagePlanKey"]["Properties"]["KeyType"],
        "API_KEY"
    );

    // The password reaches RDS as a SecureString reference, never as a value.
    let password = resources["Database"]["Properties"]["MasterUserPassword"].to_string();
    assert!(
        password.contains("{{resolve:ssm-secure:${DbPasswordParameter}}}"),
        "{password}"
    );
    assert_eq!(
        template["Parameters"]["DbPasswordParameter"]["Default"],
        "/globant/db/password"
    );

    // Least privilege: its SSM prefix, its two buckets, and where its backups go.
    let statements = function["Policies"][0]["Statement"].as_array().unwrap();
    let resources_of = |sid: &str| {
        let statement = statements.iter().find(|s| s["Sid"] == sid).unwrap();
        statement["Resource"].to_string()
    };
    assert!(resources_of("ReadItsParameters").contains("parameter${SsmPrefix}/*"));
    assert!(resources_of("ReadLanding").contains(":s3:::${LandingBucketName}/*"));
    assert!(resources_of("WriteInvalid").contains(":s3:::${InvalidBucketName}/*"));
    assert!(resources_of("WriteBackups").contains(":s3:::${BackupBucketName}/*"));
    let granted = statements
        .iter()
        .map(|s| s["Resource"].to_string())
        .collect::<String>();
    assert!(
        !granted.contains("\"*\""),
        "no statement grants every resource: {granted}"
    );

    // The weekly backup, which the function runs on this input, into CSVGATE_BACKUPS.
    let weekly = &function["Events"]["WeeklyBackup"];
    assert_eq!(weekly["Type"], "Schedule");
    assert_eq!(weekly["Properties"]["Input"], "{\"csvgate\": \"backup\"}");
    let variables = &function["Environment"]["Variables"];
    assert!(
        variables["CSVGATE_BACKUPS"]
            .to_string()
            .contains("${BackupBucketName}")
    );
    assert!(
        weekly["Properties"]["Schedule"]
            .as_str()
            .unwrap()
            .contains("SUN")
    );
}

#[test]
fn the_dockerfile_passes_hadolint() {
    passes("hadolint", &["Dockerfile"]).unwrap();
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    for line in ["USER 10001", "HEALTHCHECK", "CMD [\"serve\""] {
        assert!(dockerfile.contains(line), "{line}");
    }
}

#[test]
fn compose_wires_mariadb_s3_and_csvgate() {
    let compose = yaml("compose.yaml");
    let services = compose["services"].as_object().unwrap();
    for name in ["mariadb", "s3", "csvgate"] {
        assert!(services.contains_key(name), "{name}");
    }
    let environment = &services["csvgate"]["environment"];
    assert_eq!(environment["AWS_ENDPOINT_URL"], "http://s3:9000");
    assert_eq!(
        environment["CSVGATE_TARGET"],
        "mysql://csvgate@mariadb:3306/hr"
    );
}
