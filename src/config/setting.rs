//! What a setting is: its name in `csvgate.toml`, its kind, its environment variable, its
//! command-line flag, its default and its doc. The settings themselves are listed once, in
//! [`super::settings`]; the file, the environment, the command line, SSM and `config show` all
//! read that list, so none of them spells a setting again.

/// What values a setting takes; each value is checked against it when the layers are resolved,
/// so a bad one is refused at start-up with the setting and the layer it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Text never printed (`config show` masks it; errors do not quote it).
    Secret,
    /// `true`/`false` (also `1`/`0`, `yes`/`no`); a flag without a value.
    Bool,
    /// A whole number, 0 or more.
    Count,
    /// A whole number, 1 or more.
    Positive,
    /// One ASCII character.
    Char,
    /// One of these words (any case; kept lowercase).
    Choice(&'static [&'static str]),
    /// A cron expression in UTC (five fields, or six with seconds first), or `off`.
    Schedule,
    /// A share, from 0 to 1 (0.05 is 5%).
    Share,
    /// Several secrets: an array in the file, comma-separated in the environment, a repeated
    /// flag.
    SecretList,
    /// Several texts, kept as written: an array in the file (per-table settings only).
    TextList,
}

impl Kind {
    pub fn is_secret(self) -> bool {
        matches!(self, Kind::Secret | Kind::SecretList)
    }

    pub fn is_list(self) -> bool {
        matches!(self, Kind::SecretList | Kind::TextList)
    }
}

/// Where a setting's environment variable is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Env {
    None,
    /// A `CSVGATE_*` variable, one of csvgate's layers (above the file, below a flag).
    Own(&'static str),
    /// A standard AWS variable that the AWS clients read themselves, with their own fallbacks
    /// (profiles, roles); shown by `config show` when set, never copied into the value.
    Aws(&'static str),
}

/// A setting's command-line flag: global, or on one subcommand only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag {
    pub long: &'static str,
    /// The subcommand it belongs to (`serve`), or `None` for a flag of every command.
    pub command: Option<&'static str>,
}

/// What a setting is when no layer gives it.
#[derive(Debug, Clone, Copy)]
pub enum Fallback {
    None,
    /// A value, computed from the constant the code that uses it keeps.
    Value(fn() -> String),
    /// A description, when the default depends on other settings (`api.bucket`).
    Note(&'static str),
}

/// One setting. Built with the `const fn`s below, so the list reads one line a setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// Its name in `csvgate.toml`: `landing`, `api.listen`; a `*` segment is any table's name
    /// (`tables.*.x` is `x` of `[tables.<name>]`).
    pub name: &'static str,
    pub kind: Kind,
    pub env: Env,
    pub flag: Option<Flag>,
    pub fallback: Fallback,
    /// Its documentation, from the list's doc comment.
    pub doc: &'static str,
}

impl Setting {
    pub const fn new(name: &'static str, kind: Kind) -> Setting {
        Setting {
            name,
            kind,
            env: Env::None,
            flag: None,
            fallback: Fallback::None,
            doc: "",
        }
    }

    pub const fn env(mut self, variable: &'static str) -> Setting {
        self.env = Env::Own(variable);
        self
    }

    pub const fn aws_env(mut self, variable: &'static str) -> Setting {
        self.env = Env::Aws(variable);
        self
    }

    /// A flag of every command.
    pub const fn flag(mut self, long: &'static str) -> Setting {
        self.flag = Some(Flag {
            long,
            command: None,
        });
        self
    }

    /// A flag of one subcommand.
    pub const fn flag_of(mut self, command: &'static str, long: &'static str) -> Setting {
        self.flag = Some(Flag {
            long,
            command: Some(command),
        });
        self
    }

    pub const fn default(mut self, value: fn() -> String) -> Setting {
        self.fallback = Fallback::Value(value);
        self
    }

    pub const fn default_note(mut self, note: &'static str) -> Setting {
        self.fallback = Fallback::Note(note);
        self
    }

    /// Whether `name` (a concrete dotted name from a file) is this setting.
    pub fn matches(&self, name: &str) -> bool {
        let mut pattern = self.name.split('.');
        let mut given = name.split('.');
        loop {
            match (pattern.next(), given.next()) {
                (None, None) => return true,
                (Some("*"), Some(_)) => {}
                (Some(expected), Some(part)) if expected == part => {}
                _ => return false,
            }
        }
    }

    /// Whether the setting is one per table (`[tables.<name>]`).
    pub fn is_per_table(&self) -> bool {
        self.name.split('.').any(|part| part == "*")
    }

    /// The doc as one paragraph, for `--help`.
    pub fn summary(&self) -> String {
        let words: Vec<&str> = self.doc.split_whitespace().collect();
        words.join(" ")
    }

    /// Every way to give this setting, for messages: `--api-key, CSVGATE_API_KEYS or
    /// api.api_keys in csvgate.toml`.
    pub fn ways_to_set(&self) -> String {
        let mut ways = Vec::new();
        if let Some(flag) = self.flag {
            ways.push(format!("--{}", flag.long));
        }
        if let Env::Own(variable) = self.env {
            ways.push(variable.to_owned());
        }
        let file = format!("{} in csvgate.toml", self.name);
        match ways.is_empty() {
            true => file,
            false => format!("{} or {file}", ways.join(", ")),
        }
    }
}

/// Declares the settings: a [`Key`](super::Key) per setting, for code to ask for its value,
/// and [`SETTINGS`](super::SETTINGS) in the same order, each with its doc comment.
macro_rules! settings {
    ($($(#[doc = $doc:literal])+ $key:ident = $setting:expr;)+) => {
        /// A setting, as code names it; [`Key::setting`] says the rest.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Key {
            $($(#[doc = $doc])+ $key,)+
        }

        /// Every setting, in the order of [`Key`] and of `config show`.
        pub const SETTINGS: &[Setting] = &[$(Setting {
            doc: concat!($($doc, "\n"),+),
            ..$setting
        },)+];
    };
}
pub(super) use settings;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_star_segment_matches_any_one_table_name() {
        let per_table = Setting::new("tables.*.header", Kind::Text);
        assert!(per_table.matches("tables.jobs.header"));
        assert!(!per_table.matches("tables.jobs"));
        assert!(!per_table.matches("tables.jobs.header.x"));
        assert!(!per_table.matches("tables.jobs.delimiter"));
        assert!(per_table.is_per_table());
        assert!(!Setting::new("api.listen", Kind::Text).is_per_table());
    }
}
