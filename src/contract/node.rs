//! A YAML value with its place in the contract (`schema[2].properties[1].required`), so every
//! refusal names where the user must look.

use serde_yaml_ng::Value;

use super::Refusal;

/// One value of the contract and where it is.
#[derive(Clone)]
pub(super) struct Node<'a> {
    pub value: &'a Value,
    place: String,
}

impl<'a> Node<'a> {
    pub fn root(value: &'a Value) -> Node<'a> {
        Node {
            value,
            place: String::new(),
        }
    }

    /// Where this node is, for messages; the document itself is `the contract`.
    pub fn place(&self) -> &str {
        match self.place.is_empty() {
            true => "the contract",
            false => &self.place,
        }
    }

    /// The refusal of this node, for `reason`.
    pub fn refuse(&self, reason: impl Into<String>) -> Refusal {
        Refusal {
            place: self.place().to_owned(),
            reason: reason.into(),
        }
    }

    /// The value under `key` of this mapping, if there is one (a `null` counts as none).
    pub fn get(&self, key: &str) -> Option<Node<'a>> {
        let value = self.value.get(key).filter(|value| !value.is_null())?;
        let place = match self.place.is_empty() {
            true => key.to_owned(),
            false => format!("{}.{key}", self.place),
        };
        Some(Node { value, place })
    }

    /// The items of this sequence, each with its place (`schema[0]`).
    pub fn items(&self) -> Result<Vec<Node<'a>>, Refusal> {
        let items = (self.value.as_sequence()).ok_or_else(|| self.refuse("expected a list"))?;
        Ok((items.iter().enumerate())
            .map(|(index, value)| Node {
                value,
                place: format!("{}[{index}]", self.place),
            })
            .collect())
    }

    pub fn text(&self) -> Result<&'a str, Refusal> {
        (self.value.as_str()).ok_or_else(|| self.refuse("expected text"))
    }

    pub fn boolean(&self) -> Result<bool, Refusal> {
        (self.value.as_bool()).ok_or_else(|| self.refuse("expected true or false"))
    }

    pub fn number(&self) -> Result<f64, Refusal> {
        (self.value.as_f64()).ok_or_else(|| self.refuse("expected a number"))
    }

    pub fn integer(&self) -> Result<i64, Refusal> {
        (self.value.as_i64()).ok_or_else(|| self.refuse("expected a whole number"))
    }

    /// The text under `key`, which must be there.
    pub fn required_text(&self, key: &str) -> Result<&'a str, Refusal> {
        match self.get(key) {
            Some(node) => node.text(),
            None => Err(self.refuse(format!("`{key}` is missing"))),
        }
    }

    /// The boolean under `key`; false when absent, as ODCS defaults its flags.
    pub fn flag(&self, key: &str) -> Result<bool, Refusal> {
        self.get(key).map_or(Ok(false), |node| node.boolean())
    }

    /// Refuses any key of this mapping that is neither in `read` (what csvgate enforces) nor
    /// in `described` (what documents the data without constraining a row); those of
    /// `not_yet` are refused as constraints csvgate does not enforce.
    pub fn keys_within(
        &self,
        read: &[&str],
        described: &[&str],
        not_yet: &[&str],
    ) -> Result<(), Refusal> {
        let mapping = (self.value.as_mapping()).ok_or_else(|| self.refuse("expected a mapping"))?;
        for key in mapping.keys() {
            let Some(key) = key.as_str() else {
                return Err(self.refuse("a key that is not text"));
            };
            let at = |reason: String| match self.get(key) {
                Some(child) => child.refuse(reason),
                None => self.refuse(format!("{key}: {reason}")),
            };
            if not_yet.contains(&key) {
                return Err(at(format!(
                    "`{key}` is a constraint csvgate does not enforce yet (a rule it cannot keep is refused rather than ignored)"
                )));
            }
            if !read.contains(&key) && !described.contains(&key) {
                return Err(at(format!("`{key}` is not a field csvgate knows here")));
            }
        }
        Ok(())
    }
}
