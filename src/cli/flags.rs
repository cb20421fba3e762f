//! The settings' flags: added to clap's command from the settings list, and read back as the
//! flag layer of the configuration. No setting's flag is spelled anywhere else.

use std::collections::BTreeMap;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, CommandFactory};

use super::Cli;
use crate::config::setting::{Env, Fallback, Flag, Kind, Setting};
use crate::config::{Raw, SETTINGS};

/// The command line: the derived commands, with each setting's flag where the list puts it.
pub fn command() -> clap::Command {
    SETTINGS
        .iter()
        .filter_map(|setting| Some((setting, setting.flag?)))
        .fold(Cli::command(), |command, (setting, flag)| {
            let arg = arg(setting, flag);
            match flag.command {
                None => command.arg(arg.global(true)),
                Some(name) => command.mut_subcommand(name, |sub| sub.arg(arg)),
            }
        })
}

fn arg(setting: &'static Setting, flag: Flag) -> Arg {
    let mut help = setting.summary();
    match setting.fallback {
        Fallback::Value(default) => help.push_str(&format!(" [default: {}]", default())),
        Fallback::Note(note) => help.push_str(&format!(" [default: {note}]")),
        Fallback::None => {}
    }
    if let Env::Own(variable) = setting.env {
        help.push_str(&format!(" [env: {variable}]"));
    }
    let arg = Arg::new(setting.name).long(flag.long).help(help);
    match setting.kind {
        Kind::Bool => arg.action(ArgAction::SetTrue),
        Kind::SecretList | Kind::TextList => arg.action(ArgAction::Append).value_delimiter(','),
        Kind::Choice(words) => arg.value_parser(words.to_vec()),
        _ => arg.action(ArgAction::Set),
    }
}

/// The settings given as flags, by setting name.
pub fn given(matches: &ArgMatches) -> BTreeMap<&'static str, Raw> {
    let mut given = BTreeMap::new();
    for setting in SETTINGS {
        let Some(flag) = setting.flag else { continue };
        let matches = match flag.command {
            None => Some(matches),
            Some(name) => matches.subcommand_matches(name),
        };
        let Some(matches) = matches else { continue };
        if matches.value_source(setting.name) != Some(ValueSource::CommandLine) {
            continue;
        }
        let raw = match setting.kind {
            Kind::Bool => Raw::One("true".into()),
            Kind::SecretList | Kind::TextList => {
                let values = matches
                    .get_many::<String>(setting.name)
                    .into_iter()
                    .flatten();
                Raw::Many(values.cloned().collect())
            }
            _ => Raw::One(
                matches
                    .get_one::<String>(setting.name)
                    .cloned()
                    .unwrap_or_default(),
            ),
        };
        given.insert(setting.name, raw);
    }
    given
}
