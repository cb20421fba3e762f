//! The AWS SAM template (`deploy/aws/template.yaml`) read as a deployer would, where no local
//! server can stand in for AWS: the template as CloudFormation deploys it (SAM-transformed,
//! its parameters resolved by `deploy/aws/translate.py`) must declare what its API maps (API
//! Gateway refuses to import it otherwise), reach its database from any VPC, grant its weekly
//! job what the job does, report failures, and build with `sam build`. Linted by cfn-lint and `sam validate --lint` (both from `scripts/services`).

mod common;

use std::path::Path;
use std::process::Command;

use common::deploy_files::{deployed, passes, yaml};
use serde_json::Value;

/// A VPC and its subnets, the parameters with no default.
const VPC: [&str; 2] = ["VpcId=vpc-0123", "PrivateSubnetIds=subnet-a,subnet-b"];

fn with_vpc(parameters: &[&'static str]) -> Vec<&'static str> {
    [&VPC[..], parameters].concat()
}

/// The statements of the function's execution role, every policy together.
fn function_statements(template: &Value) -> Vec<Value> {
    let role = &template["Resources"]["CsvgateFunctionRole"]["Properties"];
    (role["Policies"].as_array().unwrap().iter())
        .flat_map(|policy| {
            policy["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect()
}

/// One value or a list of them, as IAM allows for `Action` and `Resource`.
fn one_or_many(value: &Value) -> Vec<&str> {
    match value {
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        other => other.as_str().into_iter().collect(),
    }
}

/// Whether an IAM pattern (`*` any run of characters) matches `text`.
fn glob(pattern: &str, text: &str) -> bool {
    let regex = format!("^{}$", regex::escape(pattern).replace("\\*", ".*"));
    regex::Regex::new(&regex).unwrap().is_match(text)
}

/// Whether some Allow statement grants `action` on `resource`.
fn allows(statements: &[Value], action: &str, resource: &str) -> bool {
    statements.iter().any(|statement| {
        statement["Effect"] == "Allow"
            && one_or_many(&statement["Action"])
                .iter()
                .any(|a| glob(a, action))
            && one_or_many(&statement["Resource"])
                .iter()
                .any(|r| glob(r, resource))
    })
}

#[test]
fn the_template_passes_cfn_lint_and_sam_validate() {
    passes("cfn-lint", &["deploy/aws/template.yaml"]).unwrap();
    let template = "deploy/aws/template.yaml";
    passes(
        "sam",
        &[
            "validate",
            "--lint",
            "--region",
            "us-east-1",
            "--template",
            template,
        ],
    )
    .unwrap();
}

#[test]
fn the_template_wires_what_the_seed_had() {
    let template = yaml("deploy/aws/template.yaml");
    let resources = &template["Resources"];
    let function = &resources["CsvgateFunction"]["Properties"];
    assert_eq!(function["Runtime"], "provided.al2023");

    // The landing bucket's ObjectCreated events start the function: see
    // `landing_events_reach_the_function_directly_or_through_a_queue`.

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
    assert!(resources_of("WriteAndPruneBackups").contains(":s3:::${BackupBucketName}/*"));
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

/// Defect: the weekly job wrote its snapshots, then failed to prune (it lists the bucket, reads
/// manifests and deletes), so every retry wrote more snapshots and retention never applied.
#[test]
fn the_weekly_backup_may_write_list_read_and_delete_its_snapshots() {
    let template = deployed(&VPC);
    let statements = function_statements(&template);
    let bucket = "arn:aws:s3:::csvgate-backups";
    let object = format!("{bucket}/hired_employees/20261203T030000Z-1a2b/manifest.json");
    assert!(allows(&statements, "s3:ListBucket", bucket));
    for action in ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"] {
        assert!(allows(&statements, action, &object), "{action}");
    }
    // Its landing objects are only read, and nothing else anywhere is deleted.
    let landing = "arn:aws:s3:::globant-landing/jobs.csv";
    assert!(allows(&statements, "s3:GetObject", landing));
    assert!(!allows(&statements, "s3:DeleteObject", landing));
    assert!(!allows(&statements, "s3:PutObject", landing));
}

/// A contract of the deployer's: the function is told where it is and may read that one object
/// of its bucket, nothing else there; without one it reads no contract and is granted none.
#[test]
fn the_function_may_read_its_contract_and_nothing_beside_it() {
    let template = deployed(&with_vpc(&[
        "ContractBucketName=team-config",
        "ContractKey=contracts/retail.odcs.yaml",
    ]));
    let function = &template["Resources"]["CsvgateFunction"]["Properties"];
    let variables = &function["Environment"]["Variables"];
    assert_eq!(
        variables["CSVGATE_CONTRACT"],
        "s3://team-config/contracts/retail.odcs.yaml"
    );
    let statements = function_statements(&template);
    let contract = "arn:aws:s3:::team-config/contracts/retail.odcs.yaml";
    assert!(allows(&statements, "s3:GetObject", contract));
    assert!(!allows(
        &statements,
        "s3:GetObject",
        "arn:aws:s3:::team-config/contracts/other.yaml"
    ));
    assert!(!allows(&statements, "s3:PutObject", contract));

    let template = deployed(&VPC);
    let variables =
        &template["Resources"]["CsvgateFunction"]["Properties"]["Environment"]["Variables"];
    assert!(variables.get("CSVGATE_CONTRACT").is_none(), "{variables}");
    let statements = function_statements(&template);
    assert!(
        !statements
            .iter()
            .any(|statement| statement["Sid"] == "ReadContract")
    );
}

/// Defect: the integration mapped a header the method never declared (API Gateway refuses to
/// import that), and every S3 answer, `AccessDenied` included, reached the client as 200.
#[test]
fn the_upload_api_declares_what_it_maps_and_passes_s3_errors_on() {
    let template = deployed(&VPC);
    let body = &template["Resources"]["UploadApi"]["Properties"]["Body"];
    let put = &body["paths"]["/{bucket}/{key+}"]["put"];
    let declared: Vec<String> = (put["parameters"].as_array().unwrap().iter())
        .map(|p| {
            format!(
                "{}.{}",
                p["in"].as_str().unwrap(),
                p["name"].as_str().unwrap()
            )
        })
        .collect();
    let integration = &put["x-amazon-apigateway-integration"];
    for source in integration["requestParameters"]
        .as_object()
        .unwrap()
        .values()
    {
        let source = source.as_str().unwrap();
        let parameter = source.strip_prefix("method.request.").unwrap();
        let parameter = parameter.replacen("querystring.", "query.", 1);
        assert!(
            declared.contains(&parameter),
            "{source} is not declared: {declared:?}"
        );
    }

    let responses = integration["responses"].as_object().unwrap();
    let method_responses = put["responses"].as_object().unwrap();
    let selected = |status: u16| -> Vec<&str> {
        (responses.keys())
            .filter(|pattern| *pattern != "default")
            .filter(|pattern| glob_regex(pattern, &status.to_string()))
            .map(String::as_str)
            .collect()
    };
    assert!(
        selected(200).is_empty(),
        "a success is the default response"
    );
    for status in 300..600 {
        let patterns = selected(status);
        assert_eq!(patterns.len(), 1, "{status} is selected by {patterns:?}");
        let response = &responses[patterns[0]];
        let answered: u16 = response["statusCode"].as_str().unwrap().parse().unwrap();
        let class = if status < 400 { 5 } else { status / 100 };
        assert_eq!(answered / 100, class, "{status} answered {answered}");
        if [400, 403, 404, 500, 503].contains(&status) {
            assert_eq!(answered, status);
        }
        assert!(
            method_responses.contains_key(&answered.to_string()),
            "{answered}"
        );
        let error = response["responseTemplates"]["application/json"]
            .as_str()
            .unwrap();
        let error: Value = serde_json::from_str(&error.replace("$context.requestId", "r")).unwrap();
        assert!(
            error["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{error}"
        );
    }
}

/// Whether API Gateway's selection pattern (a Java regex over the whole status) selects it.
fn glob_regex(pattern: &str, status: &str) -> bool {
    regex::Regex::new(&format!("^(?:{pattern})$"))
        .unwrap()
        .is_match(status)
}

/// Defects: egress only to 10.0.0.0/8 (a default VPC is 172.31/16); a reserved concurrency
/// of at least 1 (refused where the account keeps 10 unreserved); no on-failure destination
/// nor alarms; no way to the SSM and S3 endpoints from private subnets; `kms:Decrypt` on an
/// alias ARN, which IAM never matches; `CSVGATE_LOG_JSON`, which the function does not read.
#[test]
fn the_function_reaches_its_database_and_reports_what_fails() {
    let template = deployed(&VPC);
    let resources = &template["Resources"];
    let egress = &resources["FunctionToDatabase"]["Properties"];
    assert_eq!(
        egress["DestinationSecurityGroupId"],
        "DbSecurityGroup.GroupId"
    );
    assert_eq!(
        (egress["FromPort"].as_i64(), egress["ToPort"].as_i64()),
        (Some(3306), Some(3306))
    );
    let inline =
        resources["FunctionSecurityGroup"]["Properties"]["SecurityGroupEgress"].to_string();
    assert!(!inline.contains("3306"), "{inline}");

    let function = &resources["CsvgateFunction"]["Properties"];
    assert!(function.get("ReservedConcurrentExecutions").is_none());
    let reserved = deployed(&with_vpc(&["ReservedConcurrency=3"]));
    assert_eq!(
        reserved["Resources"]["CsvgateFunction"]["Properties"]["ReservedConcurrentExecutions"],
        "3"
    );

    let invoke = &resources["CsvgateFunctionEventInvokeConfig"]["Properties"];
    assert_eq!(
        invoke["DestinationConfig"]["OnFailure"]["Destination"],
        "FailedInvocations.Arn"
    );
    assert_eq!(invoke["MaximumRetryAttempts"], "2");
    assert!(allows(
        &function_statements(&template),
        "sqs:SendMessage",
        "FailedInvocations.Arn"
    ));

    let alarmed: Vec<(String, String)> = (resources.as_object().unwrap().values())
        .filter(|r| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|r| {
            let dimension = r["Properties"]["Dimensions"][0]["Value"]
                .as_str()
                .unwrap_or_default();
            (
                r["Properties"]["MetricName"].as_str().unwrap().to_owned(),
                dimension.to_owned(),
            )
        })
        .collect();
    for metric in [
        ("Errors", "CsvgateFunction"),
        ("Throttles", "CsvgateFunction"),
        (
            "ApproximateNumberOfMessagesVisible",
            "FailedInvocations.QueueName",
        ),
        (
            "5XXError",
            resources["UploadApi"]["Properties"]["Name"]
                .as_str()
                .unwrap(),
        ),
    ] {
        assert!(
            alarmed.contains(&(metric.0.to_owned(), metric.1.to_owned())),
            "{metric:?} in {alarmed:?}"
        );
    }
    let topic = "arn:aws:sns:us-east-1:123456789012:oncall";
    let notified = deployed(&with_vpc(&[
        "AlarmTopicArn=arn:aws:sns:us-east-1:123456789012:oncall",
    ]));
    assert_eq!(
        notified["Resources"]["FunctionErrorsAlarm"]["Properties"]["AlarmActions"][0],
        topic
    );

    assert!(resources.get("SsmEndpoint").is_none());
    let private = deployed(&with_vpc(&[
        "VpcEndpoints=create",
        "PrivateRouteTableIds=rtb-1",
    ]));
    let endpoint = |name: &str| private["Resources"][name]["Properties"]["VpcEndpointType"].clone();
    assert_eq!(endpoint("S3Endpoint"), "Gateway");
    assert_eq!(endpoint("SsmEndpoint"), "Interface");

    // The AWS managed key needs no statement; a customer key is granted by its key ARN.
    assert!(!allows(
        &function_statements(&template),
        "kms:Decrypt",
        "arn:aws:kms:us-east-1:123456789012:key/any"
    ));
    let key = "arn:aws:kms:us-east-1:123456789012:key/0b1c";
    let keyed = deployed(&with_vpc(&[
        "SsmKeyArn=arn:aws:kms:us-east-1:123456789012:key/0b1c",
    ]));
    let statements = function_statements(&keyed);
    assert!(allows(&statements, "kms:Decrypt", key));
    assert!(!Value::Array(statements).to_string().contains(":alias/"));

    // Every variable the template sets is one csvgate reads.
    let read: Vec<&str> = (csvgate::config::SETTINGS.iter())
        .filter_map(|setting| match setting.env {
            csvgate::config::setting::Env::Own(variable) => Some(variable),
            _ => None,
        })
        .collect();
    for variable in function["Environment"]["Variables"]
        .as_object()
        .unwrap()
        .keys()
    {
        assert!(
            read.contains(&variable.as_str()),
            "{variable} is read by nothing csvgate runs"
        );
    }
}

/// The API's access and execution logs, with the account's CloudWatch role set only on request.
#[test]
fn the_upload_api_logs_when_asked() {
    let stage = |template: &Value| template["Resources"]["UploadApiv1Stage"]["Properties"].clone();
    let plain = deployed(&VPC);
    assert!(stage(&plain).get("AccessLogSetting").is_none());
    assert!(plain["Resources"].get("ApiGatewayAccount").is_none());

    let logged = deployed(&with_vpc(&["ApiLogs=create-account-role"]));
    let settings = stage(&logged);
    assert_eq!(
        settings["AccessLogSetting"]["DestinationArn"],
        "ApiAccessLogGroup.Arn"
    );
    let format = settings["AccessLogSetting"]["Format"].as_str().unwrap();
    let line: Value = serde_json::from_str(format).unwrap();
    for field in ["requestId", "status", "integrationStatus", "apiKeyId"] {
        assert!(line.get(field).is_some(), "{field}");
    }
    assert_eq!(settings["MethodSettings"][0]["LoggingLevel"], "ERROR");
    assert_eq!(
        logged["Resources"]["ApiAccountReady"]["Metadata"]["AccountSetting"],
        "ApiGatewayAccount"
    );
    let existing = deployed(&with_vpc(&["ApiLogs=account-role-set"]));
    assert!(existing["Resources"].get("ApiGatewayAccount").is_none());
    assert!(stage(&existing).get("AccessLogSetting").is_some());
}

/// Defect: `CodeUri` pointed into `target/`, wrong wherever CARGO_TARGET_DIR points, with no
/// build method for `sam build`, and arm64 by default though only x86_64 was ever built.
#[test]
fn sam_build_builds_the_function_from_the_source_tree() {
    let template = yaml("deploy/aws/template.yaml");
    let function = &template["Resources"]["CsvgateFunction"];
    assert_eq!(function["Properties"]["CodeUri"], "../..");
    assert_eq!(function["Metadata"]["BuildMethod"], "makefile");
    assert_eq!(template["Parameters"]["Architecture"]["Default"], "x86_64");

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let makefile = root
        .join("deploy/aws")
        .join(function["Metadata"]["ContextPath"].as_str().unwrap());
    let mut make = Command::new("make");
    make.args(["--dry-run", "--makefile"])
        .arg(makefile.join("Makefile"));
    make.arg("build-CsvgateFunction")
        .env("ARTIFACTS_DIR", "/tmp/artifacts");
    let dry_run = common::succeeded(make.current_dir(root));
    let commands = String::from_utf8_lossy(&dry_run.stdout);
    for part in [
        "cargo lambda build --profile dist --no-default-features --features lambda",
        "--bin csvgate-lambda --x86-64",
        "/tmp/artifacts/bootstrap",
    ] {
        assert!(commands.contains(part), "{part} in {commands}");
    }
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"csvgate-lambda\""));
    let config = std::fs::read_to_string(root.join("deploy/aws/samconfig.toml")).unwrap();
    assert!(config.contains("build_in_source = true"), "{config}");
}

/// The landing bucket's `.csv` ObjectCreated events invoke the function, or (`Trigger=queue`)
/// go through a queue read in batches with partial batch failures, whose messages that failed
/// five times move to a dead-letter queue under an alarm.
#[test]
fn landing_events_reach_the_function_directly_or_through_a_queue() {
    let notification = |template: &Value| {
        template["Resources"]["LandingBucket"]["Properties"]["NotificationConfiguration"].clone()
    };
    let direct = deployed(&VPC);
    let invoked = &notification(&direct)["LambdaConfigurations"][0];
    assert_eq!(invoked["Function"], "CsvgateFunction.Arn");
    assert_eq!(invoked["Event"], "s3:ObjectCreated:*");
    assert_eq!(invoked["Filter"]["S3Key"]["Rules"][0]["Value"], ".csv");
    let permission = &direct["Resources"]["LandingMayInvokeFunction"]["Properties"];
    assert_eq!(permission["Principal"], "s3.amazonaws.com");
    assert_eq!(permission["SourceArn"], "arn:aws:s3:::globant-landing");
    assert!(direct["Resources"].get("LandingEvents").is_none());
    let consume = "sqs:ReceiveMessage";
    assert!(!allows(
        &function_statements(&direct),
        consume,
        "LandingEvents.Arn"
    ));

    let queued = deployed(&with_vpc(&["Trigger=queue"]));
    let resources = &queued["Resources"];
    let sent = &notification(&queued)["QueueConfigurations"][0];
    assert_eq!(sent["Queue"], "LandingEvents.Arn");
    assert!(notification(&queued).get("LambdaConfigurations").is_none());
    let mapping = &resources["LandingEventsToFunction"]["Properties"];
    assert_eq!(mapping["EventSourceArn"], "LandingEvents.Arn");
    assert_eq!(
        mapping["FunctionResponseTypes"],
        serde_json::json!(["ReportBatchItemFailures"])
    );
    let queue = &resources["LandingEvents"]["Properties"];
    let redrive = &queue["RedrivePolicy"];
    assert_eq!(
        redrive["deadLetterTargetArn"],
        "LandingEventsDeadLetter.Arn"
    );
    let timeout = resources["CsvgateFunction"]["Properties"]["Timeout"]
        .as_u64()
        .unwrap();
    let visible_again = queue["VisibilityTimeout"].as_u64().unwrap();
    assert!(visible_again >= 6 * timeout, "{visible_again} s");
    let statements = function_statements(&queued);
    for action in [consume, "sqs:DeleteMessage", "sqs:GetQueueAttributes"] {
        assert!(allows(&statements, action, "LandingEvents.Arn"), "{action}");
    }
    // S3 may send to the queue, for the landing bucket only.
    let policy = &resources["LandingEventsPolicy"]["Properties"]["PolicyDocument"];
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Principal"]["Service"], "s3.amazonaws.com");
    let source = &statement["Condition"]["ArnEquals"]["aws:SourceArn"];
    assert_eq!(source, "arn:aws:s3:::globant-landing");
    let alarm = &resources["LandingEventsDeadLetterAlarm"]["Properties"];
    assert_eq!(
        alarm["Dimensions"][0]["Value"],
        "LandingEventsDeadLetter.QueueName"
    );
    // The bucket is configured once S3 may deliver where it sends.
    let waits = resources["LandingBucket"]["DependsOn"].to_string();
    assert!(waits.contains("LandingMayInvokeFunction") && waits.contains("LandingDeliveryReady"));
    let ready = &resources["LandingDeliveryReady"]["Metadata"]["QueuePolicy"];
    assert_eq!(ready, "LandingEventsPolicy");
}

/// The bootstrap may store the application user's credentials below `app/` of its prefix, and
/// nowhere else; with `DbUser=app` the function reads them.
#[test]
fn the_bootstrap_may_store_only_the_app_credentials() {
    let template = deployed(&VPC);
    let statements = function_statements(&template);
    let parameter =
        |name: &str| format!("arn:aws:ssm:us-east-1:123456789012:parameter/globant/db/{name}");
    for stored in [
        csvgate::bootstrap::APP_USER,
        csvgate::bootstrap::APP_PASSWORD,
    ] {
        assert!(
            allows(&statements, "ssm:PutParameter", &parameter(stored)),
            "{stored}"
        );
    }
    for kept in ["password", "user", "host"] {
        assert!(
            !allows(&statements, "ssm:PutParameter", &parameter(kept)),
            "{kept}"
        );
    }
    let variables = |template: &Value| {
        template["Resources"]["CsvgateFunction"]["Properties"]["Environment"]["Variables"].clone()
    };
    assert!(variables(&template).get("CSVGATE_SSM_USER").is_none());
    let app = variables(&deployed(&with_vpc(&["DbUser=app"])));
    assert_eq!(app["CSVGATE_SSM_USER"], csvgate::bootstrap::APP_USER);
    assert_eq!(
        app["CSVGATE_SSM_PASSWORD"],
        csvgate::bootstrap::APP_PASSWORD
    );
}
