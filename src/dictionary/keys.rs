//! Sets of key values: the ids a table holds, which foreign keys of other tables may point at.

use std::collections::BTreeSet;

use roaring::RoaringTreemap;

/// The distinct values of one key column, of the column's type. Integer keys are a compressed
/// bitmap (they are never negative: the rules refuse ids below 1), so a million of them take a
/// few hundred kilobytes; text keys, which user contracts may declare, are an ordered set.
#[derive(Debug, Clone, PartialEq)]
pub enum Keys {
    Integers(RoaringTreemap),
    Texts(BTreeSet<String>),
}

impl Keys {
    pub fn len(&self) -> u64 {
        match self {
            Keys::Integers(ids) => ids.len(),
            Keys::Texts(keys) => keys.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys as SQL literals, in order (texts quoted, quotes doubled).
    pub fn sql_literals(&self) -> Vec<String> {
        match self {
            Keys::Integers(ids) => ids.iter().map(|id| id.to_string()).collect(),
            Keys::Texts(keys) => (keys.iter())
                .map(|key| format!("'{}'", key.replace('\'', "''")))
                .collect(),
        }
    }

    /// The integer keys; the dictionary's key and reference columns are integers, so a set of
    /// text keys here is a bug, not bad input.
    pub fn into_integers(self) -> RoaringTreemap {
        match self {
            Keys::Integers(ids) => ids,
            Keys::Texts(_) => panic!("integer key columns hold integer keys"),
        }
    }
}

impl FromIterator<i64> for Keys {
    /// Integer keys; a negative value cannot be an id and is left out.
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
    fn literals_are_ordered_distinct_and_quoted() {
        let ids: Keys = [3, 1, 3, -4].into_iter().collect();
        assert_eq!(ids.sql_literals(), ["1", "3"]);
        assert_eq!(ids.len(), 2);
        let texts: Keys = ["o'neil", "ab", "ab"]
            .map(String::from)
            .into_iter()
            .collect();
        assert_eq!(texts.sql_literals(), ["'ab'", "'o''neil'"]);
        assert!(Keys::Texts(BTreeSet::new()).is_empty());
    }
}
