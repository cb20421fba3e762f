//! Text keys: looked up by hash, put in order only when asked.
//!
//! A split looks a key up once per row (a foreign key, a key repeated in the file). In an
//! ordered set of a million keys that costs some twenty string comparisons, most of them cache
//! misses: it doubled the split of 10M orders against 1M customers (`benches/contract.sh`). A
//! hash costs one pass over the key and about one comparison. Order is needed rarely (whether a
//! file's key range holds a key, the first keys of a message), so it is an index sorted when
//! first asked for and dropped on the next insert.

use std::sync::OnceLock;

use indexmap::IndexSet;

type Hasher = foldhash::fast::RandomState;

/// A set of text keys.
#[derive(Debug, Default)]
pub struct TextKeys {
    keys: IndexSet<Box<str>, Hasher>,
    /// Positions in `keys`, in the keys' order.
    sorted: OnceLock<Vec<usize>>,
}

impl TextKeys {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds `key`; `false` when it was there already.
    pub fn insert(&mut self, key: &str) -> bool {
        if self.keys.contains(key) {
            return false;
        }
        self.sorted.take();
        self.keys.insert(key.into())
    }

    pub fn contains(&self, key: &str) -> bool {
        self.keys.contains(key)
    }

    /// The keys in order.
    pub fn iter_sorted(&self) -> impl Iterator<Item = &str> {
        (self.sorted().iter()).map(|&at| &*self.keys[at])
    }

    /// The smallest key that is at least `min`.
    pub fn first_from(&self, min: &str) -> Option<&str> {
        let sorted = self.sorted();
        let at = sorted.partition_point(|&at| &*self.keys[at] < min);
        sorted.get(at).map(|&at| &*self.keys[at])
    }

    pub fn is_disjoint(&self, other: &TextKeys) -> bool {
        self.keys.is_disjoint(&other.keys)
    }

    /// The keys of either set.
    pub fn union(&self, other: &TextKeys) -> TextKeys {
        (self.keys.iter().chain(&other.keys))
            .map(|key| &**key)
            .collect()
    }

    /// The keys of this set that `other` lacks.
    pub fn without(&self, other: &TextKeys) -> TextKeys {
        (self.keys.iter())
            .filter(|key| !other.contains(key))
            .map(|key| &**key)
            .collect()
    }

    fn sorted(&self) -> &[usize] {
        self.sorted.get_or_init(|| {
            let mut order: Vec<usize> = (0..self.keys.len()).collect();
            order.sort_unstable_by(|&a, &b| self.keys[a].cmp(&self.keys[b]));
            order
        })
    }
}

impl Clone for TextKeys {
    fn clone(&self) -> TextKeys {
        TextKeys {
            keys: self.keys.clone(),
            sorted: OnceLock::new(),
        }
    }
}

/// Equal when they hold the same keys, in whatever order they were added.
impl PartialEq for TextKeys {
    fn eq(&self, other: &TextKeys) -> bool {
        self.keys == other.keys
    }
}

impl<'a> FromIterator<&'a str> for TextKeys {
    fn from_iter<I: IntoIterator<Item = &'a str>>(keys: I) -> TextKeys {
        let mut set = TextKeys::default();
        set.extend(keys);
        set
    }
}

impl FromIterator<String> for TextKeys {
    /// Keeps each text as it is (no copy), as a query's answer hands them over.
    fn from_iter<I: IntoIterator<Item = String>>(keys: I) -> TextKeys {
        let mut set = TextKeys::default();
        for key in keys {
            set.keys.insert(key.into_boxed_str());
        }
        set
    }
}

impl<'a> Extend<&'a str> for TextKeys {
    fn extend<I: IntoIterator<Item = &'a str>>(&mut self, keys: I) {
        self.sorted.take();
        for key in keys {
            if !self.keys.contains(key) {
                self.keys.insert(key.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_by_hash_and_listed_in_order_after_any_insert() {
        let mut keys: TextKeys = ["b", "d", "b"].into_iter().collect();
        assert_eq!(keys.len(), 2);
        assert!(keys.contains("d") && !keys.contains("c"));
        assert_eq!(keys.first_from("c"), Some("d"));
        assert!(keys.insert("c") && !keys.insert("c"));
        assert_eq!(keys.first_from("c"), Some("c"));
        assert_eq!(keys.first_from("e"), None);
        assert_eq!(keys.iter_sorted().collect::<Vec<_>>(), ["b", "c", "d"]);
        let added_otherwise: TextKeys = ["d", "c", "b"].into_iter().collect();
        assert_eq!(keys, added_otherwise);
        let other: TextKeys = ["a", "b"].into_iter().collect();
        assert!(!keys.is_disjoint(&other));
        assert_eq!(keys.without(&other), ["c", "d"].into_iter().collect());
        assert_eq!(keys.union(&other).iter_sorted().next(), Some("a"));
    }
}
