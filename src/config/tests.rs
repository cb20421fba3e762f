use std::collections::BTreeMap;

use super::*;

fn file(text: &str) -> ConfigFile {
    ConfigFile::parse(Path::new("csvgate.toml"), text).unwrap()
}

#[test]
fn a_flag_beats_its_variable_which_beats_the_file_which_beats_the_default() {
    let layers = Layers {
        flags: BTreeMap::from([("warehouse", Raw::One("/flag/wh".into()))]),
        env: BTreeMap::from([
            ("CSVGATE_WAREHOUSE", "/env/wh".into()),
            ("CSVGATE_INVALID", "/env/bad".into()),
        ]),
        file: file(
            "landing = \"/data/in\"\ninvalid = \"/data/bad\"\nwarehouse = \"/data/wh\"\n[ingest]\ndelimiter = \";\"\n",
        ),
    };
    let config = Config::resolve(layers).unwrap();
    let seen = |key| (config.get(key).unwrap().to_owned(), config.source(key));
    assert_eq!(seen(Key::Warehouse), ("/flag/wh".into(), Source::Flag));
    assert_eq!(seen(Key::Invalid), ("/env/bad".into(), Source::Env));
    assert_eq!(seen(Key::Landing), ("/data/in".into(), Source::File));
    assert_eq!(
        seen(Key::Backups),
        ("./csvgate-data/backups".into(), Source::Default)
    );
    assert_eq!(config.dialect().delimiter, Some(b';'));
}

#[test]
fn unknown_keys_and_missing_explicit_files_are_errors() {
    let unknown = ConfigFile::parse(Path::new("c.toml"), "[api]\nlisten = \"x\"\nlistn = 1\n");
    assert_eq!(
        unknown.unwrap_err().to_string(),
        "c.toml: unknown setting `api.listn`"
    );
    let missing = ConfigFile::load(Some(Path::new("/nonexistent/csvgate.toml"))).unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("/nonexistent/csvgate.toml: ")
    );
}

#[test]
fn a_bad_value_names_its_setting_and_where_it_came_from_and_never_a_secret() {
    let layers = |env: &[(&'static str, &str)], text: &str| Layers {
        env: env
            .iter()
            .map(|(name, value)| (*name, value.to_string()))
            .collect(),
        file: file(text),
        ..Layers::default()
    };
    let error = |layers| Config::resolve(layers).unwrap_err().to_string();
    assert_eq!(
        error(layers(&[], "[ingest]\ndelimiter = \"¦\"\n")),
        "ingest.delimiter (from csvgate.toml): \"¦\" is not a single ASCII character"
    );
    assert_eq!(
        error(layers(&[("CSVGATE_MAX_UPLOAD_BYTES", "lots")], "")),
        "api.max_upload_bytes (from CSVGATE_MAX_UPLOAD_BYTES): \"lots\" is not a whole number above 0"
    );
    assert_eq!(
        error(layers(&[], "[ingest]\nheader = \"maybe\"\n")),
        "ingest.header (from csvgate.toml): \"maybe\" is not one of auto, yes, no"
    );
    let secret = error(layers(&[], "target_password = [\"pw-1\"]\n"));
    assert_eq!(
        secret,
        "target_password (from csvgate.toml): takes one value, not a list"
    );
}

#[test]
fn lists_come_as_arrays_from_the_file_and_comma_separated_from_the_environment() {
    let from_file = Config::resolve(Layers {
        file: file("[api]\napi_keys = [\"k1\", \"k2\"]\nopen_reads = true\n"),
        ..Layers::default()
    })
    .unwrap();
    assert_eq!(from_file.list(Key::ApiKeys), ["k1", "k2"]);
    assert!(from_file.enabled(Key::OpenReads));
    let from_env = Config::resolve(Layers {
        env: BTreeMap::from([("CSVGATE_API_KEYS", "k3, ,k4".into())]),
        ..Layers::default()
    })
    .unwrap();
    assert_eq!(from_env.list(Key::ApiKeys), ["k3", "k4"]);
    assert!(!from_env.enabled(Key::OpenReads));
}

#[test]
fn every_default_value_is_valid_and_numbers_read_as_the_code_uses_them() {
    let config = Config::defaults();
    assert_eq!(config.number::<usize>(Key::Workers), Some(1));
    assert_eq!(config.server_limits(), ServerLimits::default());
    assert_eq!(config.retention(), DEFAULT_RETENTION);
    assert_eq!(config.get(Key::Target), None);
    let names = config.ssm_names();
    let names = [
        names.host,
        names.port,
        names.name,
        names.user,
        names.password,
    ];
    assert_eq!(names, ["host", "port", "name", "user", "password"]);
}

#[test]
fn choices_are_the_variants_the_code_parses_them_into() {
    use clap::ValueEnum;
    fn names<T: ValueEnum>() -> Vec<String> {
        let variants = T::value_variants().iter();
        variants
            .map(|v| v.to_possible_value().unwrap().get_name().to_owned())
            .collect()
    }
    let choices = |key: Key| match key.setting().kind {
        setting::Kind::Choice(words) => words.to_vec(),
        other => panic!("{other:?}"),
    };
    assert_eq!(names::<HeaderMode>(), choices(Key::Header));
    assert_eq!(names::<crate::backup::Format>(), choices(Key::BackupFormat));
}

#[test]
fn a_schedule_is_checked_when_the_configuration_is_read() {
    let layers = Layers {
        file: file("[backup]\nschedule = \"every sunday\"\n"),
        ..Layers::default()
    };
    let error = Config::resolve(layers).unwrap_err().to_string();
    assert!(
        error.starts_with("backup.schedule (from csvgate.toml): \"every sunday\" is not a cron"),
        "{error}"
    );
}
