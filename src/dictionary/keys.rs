//! Sets of key values: the keys a table holds, which foreign keys of other tables may point at,
//! which a load replaces, and which a restore would leave pointed at.

use datafusion::arrow::array::{ArrayRef, AsArray, BooleanArray, new_null_array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use roaring::RoaringTreemap;

use super::ColumnKind;
use super::text_keys::TextKeys;

/// Keys named in a message before the rest is only counted.
const SHOWN: usize = 10;

/// The distinct values of one key column, of the column's type. Integer keys are a compressed
/// bitmap (negative ones are left out: csvgate's integer keys are bounded below by the contract
/// and a bitmap holds none), so a million of them take a few hundred kilobytes; text keys are a
/// hash set ([`TextKeys`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Keys {
    Integers(RoaringTreemap),
    Texts(TextKeys),
}

impl Keys {
    /// An empty set for keys of `kind`.
    pub fn of(kind: &ColumnKind) -> Keys {
        match kind {
            ColumnKind::Text(_) => Keys::Texts(TextKeys::default()),
            _ => Keys::Integers(RoaringTreemap::new()),
        }
    }

    pub fn len(&self) -> u64 {
        match self {
            Keys::Integers(ids) => ids.len(),
            Keys::Texts(keys) => keys.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The integer keys; panics on text keys (a caller that knows its key column's type).
    pub fn into_integers(self) -> RoaringTreemap {
        match self {
            Keys::Integers(ids) => ids,
            Keys::Texts(_) => panic!("integer keys expected"),
        }
    }

    /// Adds a field's text as a key; `Some(false)` when it was there already, `None` when the
    /// text is no key of this type (the rules reject it anyway).
    pub fn insert_text(&mut self, text: &str) -> Option<bool> {
        match self {
            Keys::Integers(ids) => Some(ids.insert(trim_blanks(text).parse::<u64>().ok()?)),
            Keys::Texts(keys) => {
                let key = trim_blanks(text);
                (!key.is_empty()).then(|| keys.insert(key))
            }
        }
    }

    /// Adds the non-null values of `column` (cast to the keys' type: a scan may hand text over
    /// as `Utf8View`).
    pub fn insert_column(&mut self, column: &ArrayRef) {
        let column = self.cast(column);
        match self {
            Keys::Integers(ids) => {
                let values = column.as_primitive::<Int64Type>();
                ids.extend(
                    values
                        .iter()
                        .flatten()
                        .filter_map(|id| u64::try_from(id).ok()),
                );
            }
            Keys::Texts(keys) => {
                keys.extend(column.as_string::<i32>().iter().flatten());
            }
        }
    }

    /// Per row of `column`, whether its value is one of these keys (a null is not).
    pub fn contains_each(&self, column: &ArrayRef) -> BooleanArray {
        if let (Keys::Texts(keys), DataType::Utf8View) = (self, column.data_type()) {
            // What a scan hands over, read in place rather than copied into `Utf8`.
            let found = |key: Option<&str>| Some(key.is_some_and(|key| keys.contains(key)));
            return column.as_string_view().iter().map(found).collect();
        }
        let column = self.cast(column);
        match self {
            Keys::Integers(ids) => (column.as_primitive::<Int64Type>().iter())
                .map(|id| {
                    Some(
                        id.and_then(|id| u64::try_from(id).ok())
                            .is_some_and(|id| ids.contains(id)),
                    )
                })
                .collect(),
            Keys::Texts(keys) => (column.as_string::<i32>().iter())
                .map(|key| Some(key.is_some_and(|key| keys.contains(key))))
                .collect(),
        }
    }

    /// `column` as the keys' own type (`Int64` or `Utf8`); a value that does not convert is
    /// null, which no key equals.
    fn cast(&self, column: &ArrayRef) -> ArrayRef {
        let key_type = match self {
            Keys::Integers(_) => DataType::Int64,
            Keys::Texts(_) => DataType::Utf8,
        };
        match column.data_type() == &key_type {
            true => ArrayRef::clone(column),
            false => {
                cast(column, &key_type).unwrap_or_else(|_| new_null_array(&key_type, column.len()))
            }
        }
    }

    /// Whether any key lies within `min..=max`, bounds as a file's statistics write them;
    /// `true` when they cannot be read (the file may hold anything).
    pub fn any_between(&self, min: &serde_json::Value, max: &serde_json::Value) -> bool {
        match self {
            Keys::Integers(ids) => match (min.as_u64(), max.as_u64()) {
                // How many keys are ≤ max, minus how many are < min.
                (Some(min), Some(max)) => {
                    ids.rank(max) > min.checked_sub(1).map_or(0, |below| ids.rank(below))
                }
                _ => true,
            },
            // Parquet truncates the statistics of long strings, the max rounded up, so both
            // still bound the file's values; a key that starts with the max is kept as a
            // candidate either way (a stale reader of an untruncated prefix).
            Keys::Texts(keys) => match (min.as_str(), max.as_str()) {
                (Some(min), Some(max)) => (keys.first_from(min))
                    .is_some_and(|first| first <= max || first.starts_with(max)),
                _ => true,
            },
        }
    }

    pub fn is_disjoint(&self, other: &Keys) -> bool {
        match (self, other) {
            (Keys::Integers(a), Keys::Integers(b)) => a.is_disjoint(b),
            (Keys::Texts(a), Keys::Texts(b)) => a.is_disjoint(b),
            _ => true,
        }
    }

    /// The keys of either set.
    pub fn union(&self, other: &Keys) -> Keys {
        match (self, other) {
            (Keys::Integers(a), Keys::Integers(b)) => Keys::Integers(a | b),
            (Keys::Texts(a), Keys::Texts(b)) => Keys::Texts(a.union(b)),
            (mine, _) => mine.clone(),
        }
    }

    /// The keys of this set that `other` lacks.
    pub fn without(&self, other: &Keys) -> Keys {
        match (self, other) {
            (Keys::Integers(a), Keys::Integers(b)) => Keys::Integers(a - b),
            (Keys::Texts(a), Keys::Texts(b)) => Keys::Texts(a.without(b)),
            (mine, _) => mine.clone(),
        }
    }

    /// "3 ids: 3, 7, 9", or the first few and how many more.
    pub fn describe(&self) -> String {
        let literals: Vec<String> = match self {
            Keys::Integers(ids) => ids.iter().take(SHOWN).map(|id| id.to_string()).collect(),
            Keys::Texts(keys) => keys.iter_sorted().take(SHOWN).map(str::to_owned).collect(),
        };
        let noun = if self.len() == 1 { "id" } else { "ids" };
        match self.len().saturating_sub(SHOWN as u64) {
            0 => format!("{} {noun}: {}", self.len(), literals.join(", ")),
            more => format!(
                "{} {noun}: {} and {more} more",
                self.len(),
                literals.join(", ")
            ),
        }
    }
}

/// `text` without the blanks csvgate trims from every field (space, tab, CR, LF): the same
/// as the rules' SQL, so a key the file repeats is the key that would be stored twice.
fn trim_blanks(text: &str) -> &str {
    text.trim_matches(super::BLANKS)
}

impl Default for Keys {
    fn default() -> Keys {
        Keys::Integers(RoaringTreemap::new())
    }
}

impl FromIterator<i64> for Keys {
    /// Integer keys; a negative value cannot be held and is left out.
    fn from_iter<I: IntoIterator<Item = i64>>(values: I) -> Keys {
        Keys::Integers(
            (values.into_iter())
                .filter_map(|id| u64::try_from(id).ok())
                .collect(),
        )
    }
}

impl FromIterator<String> for Keys {
    fn from_iter<I: IntoIterator<Item = String>>(values: I) -> Keys {
        Keys::Texts(values.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_ordered_and_never_negative() {
        let ids: Keys = [3, 1, 3, -4].into_iter().collect();
        assert_eq!(ids.describe(), "2 ids: 1, 3");
        let texts: Keys = ["o'neil", "ab", "ab"]
            .map(String::from)
            .into_iter()
            .collect();
        assert_eq!(texts.describe(), "2 ids: ab, o'neil");
        assert!(Keys::Texts(TextKeys::default()).is_empty());
    }

    #[test]
    fn long_key_lists_are_cut_and_counted() {
        assert_eq!(Keys::from_iter([7]).describe(), "1 id: 7");
        assert_eq!(
            Keys::from_iter(1..=12).describe(),
            "12 ids: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more"
        );
        let texts: Keys = ["C0002", "C0001"].map(String::from).into_iter().collect();
        assert_eq!(texts.describe(), "2 ids: C0001, C0002");
    }

    #[test]
    fn text_keys_are_told_apart_from_a_file_s_fields_and_columns() {
        use datafusion::arrow::array::StringArray;
        use std::sync::Arc;
        let mut seen = Keys::of(&ColumnKind::Text(Default::default()));
        assert_eq!(seen.insert_text(" C0001 "), Some(true));
        assert_eq!(seen.insert_text("C0001"), Some(false));
        assert_eq!(seen.insert_text("  "), None);
        let column: ArrayRef =
            Arc::new(StringArray::from(vec![Some("C0001"), None, Some("C0009")]));
        let found: Vec<bool> = seen
            .contains_each(&column)
            .iter()
            .map(Option::unwrap)
            .collect();
        assert_eq!(found, [true, false, false]);
        seen.insert_column(&column);
        assert_eq!(seen.len(), 2);
        // A scan hands text over as views.
        let viewed: ArrayRef = Arc::new(datafusion::arrow::array::StringViewArray::from(vec![
            "C0009", "C0002",
        ]));
        let found: Vec<bool> = seen
            .contains_each(&viewed)
            .iter()
            .map(Option::unwrap)
            .collect();
        assert_eq!(found, [true, false]);
        let between = |min: &str, max: &str| seen.any_between(&min.into(), &max.into());
        assert!(between("C0000", "C0001") && between("C0005", "C0010"));
        assert!(!between("C0002", "C0008") && !between("D", "E"));
    }

    #[test]
    fn integer_keys_overlap_a_range_only_when_one_lies_in_it() {
        let ids = Keys::from_iter([5, 9]);
        let between = |min: u64, max: u64| ids.any_between(&min.into(), &max.into());
        assert!(between(0, 5) && between(9, 20) && between(6, 9));
        assert!(!between(6, 8) && !between(10, 20) && !between(0, 4));
        let loaded = Keys::from_iter([9, 10]);
        assert!(!ids.is_disjoint(&loaded));
        assert_eq!(ids.union(&loaded).len(), 3);
        assert_eq!(loaded.without(&ids), Keys::from_iter([10]));
    }
}
