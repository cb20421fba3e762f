//! How a table's files are written, when its contract or the deployment says so: a team whose
//! `orders` come with `;` and a header, beside `customers` without one, declares it per table
//! instead of per deployment.

/// Whether the first line names the columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeaderMode {
    /// A header is a first line whose fields are the dictionary's column names.
    #[default]
    Auto,
    /// The first line is always a header.
    Yes,
    /// The first line is always data.
    No,
}

impl HeaderMode {
    /// Its word (`auto`, `yes`, `no`), as settings and contracts write it.
    pub fn as_str(self) -> &'static str {
        match self {
            HeaderMode::Auto => "auto",
            HeaderMode::Yes => "yes",
            HeaderMode::No => "no",
        }
    }

    /// The mode a word names (`auto`, `yes`, `no`), if any.
    pub fn parse(text: &str) -> Option<HeaderMode> {
        <HeaderMode as clap::ValueEnum>::from_str(text, false).ok()
    }
}

/// A table's own delimiter and header mode; what it leaves unset the deployment's
/// `[ingest]` settings decide.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileFormat {
    pub delimiter: Option<u8>,
    pub header: Option<HeaderMode>,
}

impl FileFormat {
    /// The delimiter csvgate writes the table's files in (its invalid-rows files), so they
    /// can be fixed and ingested again as they are: the table's own, else a comma.
    pub fn written_delimiter(&self) -> u8 {
        self.delimiter.unwrap_or(b',')
    }

    /// In words, for `contract show` and the contract's hash; `None` when nothing is set.
    pub fn describe(&self) -> Option<String> {
        let delimiter = (self.delimiter).map(|byte| format!("delimiter {:?}", char::from(byte)));
        let header = self.header.map(|mode| format!("header {}", mode.as_str()));
        let parts: Vec<String> = delimiter.into_iter().chain(header).collect();
        (!parts.is_empty()).then(|| format!("files read with {}", parts.join(", ")))
    }
}
