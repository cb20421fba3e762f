//! How a table's files are written, when its contract or the deployment says so: a team whose
//! `orders` come with `;` and a header, beside `customers` without one, declares it per table
//! instead of per deployment, and a team whose exports write a missing value as `NA` says so.

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

/// A table's own file names, delimiter, header mode and spellings of a missing value; the
/// delimiter and header it leaves unset the deployment's `[ingest]` settings decide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileFormat {
    /// Patterns of the names of its files ([`super::file_names`]), over the rule that a file
    /// named after the table (or in a folder named so) holds it.
    pub file_names: Vec<String>,
    pub delimiter: Option<u8>,
    pub header: Option<HeaderMode>,
    /// Field texts that mean "no value", as an empty field does (`NA`, `null`, `-`): matched
    /// exactly (case included) after the blanks around a field are trimmed. A required column
    /// rejects them as missing; an optional one stores NULL. The invalid-rows file keeps them.
    pub null_values: Vec<String>,
}

/// Why `text` cannot spell a missing value, if it cannot: an empty field is missing anyway,
/// and fields are compared trimmed, so a spelling with blanks around it would match nothing.
pub fn null_spelling_problem(text: &str) -> Option<&'static str> {
    let trimmed = text.trim_matches(super::BLANKS);
    (text.is_empty() || trimmed != text)
        .then_some("a missing value's spelling is not empty and has no blanks around it")
}

impl FileFormat {
    /// The delimiter csvgate writes the table's files in (its invalid-rows files), so they
    /// can be fixed and ingested again as they are: the table's own, else a comma.
    pub fn written_delimiter(&self) -> u8 {
        self.delimiter.unwrap_or(b',')
    }

    /// Whether a field's text is one of the spellings of a missing value.
    pub fn means_missing(&self, text: &str) -> bool {
        let text = text.trim_matches(super::BLANKS);
        self.null_values.iter().any(|spelling| spelling == text)
    }

    /// In words, for `contract show` and the contract's hash; `None` when nothing is set.
    pub fn describe(&self) -> Option<String> {
        let delimiter = (self.delimiter).map(|byte| format!("delimiter {:?}", char::from(byte)));
        let header = self.header.map(|mode| format!("header {}", mode.as_str()));
        let nulls = (!self.null_values.is_empty())
            .then(|| format!("missing values also spelled {:?}", self.null_values));
        let read: Vec<String> = delimiter.into_iter().chain(header).chain(nulls).collect();
        let read = (!read.is_empty()).then(|| format!("files read with {}", read.join(", ")));
        let named = (!self.file_names.is_empty())
            .then(|| format!("files named {}", self.file_names.join(" or ")));
        let parts: Vec<String> = named.into_iter().chain(read).collect();
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}
