//! A table's reject budget: how many rejected rows a file may hold and still load. Over it,
//! the file loads nothing (no partial publish of a file that is mostly wrong), its run fails
//! with its counts, and its rejected rows are still written for review.

/// Limits on the rejected rows of one file; none by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RejectBudget {
    /// At most this many rejected rows.
    pub max_rows: Option<u64>,
    /// At most this share of the rows read, in parts per million (exact, unlike a float).
    pub max_ppm: Option<u32>,
}

/// Parts per million in a whole.
const PPM: u64 = 1_000_000;

impl RejectBudget {
    /// A share of the rows (0 to 1) in parts per million.
    pub fn ppm(share: f64) -> u32 {
        (share * PPM as f64).round() as u32
    }

    /// Why a file with `rejected` of its `read` rows rejected is over budget, if it is.
    pub fn exceeded(&self, read: u64, rejected: u64) -> Option<String> {
        let over_rows = self.max_rows.filter(|max| rejected > *max);
        if let Some(max) = over_rows {
            return Some(format!(
                "{rejected} of {read} rows rejected, more than the table's budget of {max}"
            ));
        }
        let over_share = (self.max_ppm).filter(|ppm| rejected * PPM > u64::from(*ppm) * read);
        over_share.map(|ppm| {
            format!(
                "{rejected} of {read} rows rejected, more than the table's budget of {}%",
                f64::from(ppm) / 1e4
            )
        })
    }

    /// The budget in words, for `contract check`; `None` when there is none.
    pub fn describe(&self) -> Option<String> {
        let rows = self.max_rows.map(|max| format!("{max} rejected rows"));
        let share = (self.max_ppm).map(|ppm| format!("{}% of the rows", f64::from(ppm) / 1e4));
        let limits: Vec<String> = rows.into_iter().chain(share).collect();
        (!limits.is_empty()).then(|| format!("a file loads nothing past {}", limits.join(" or ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_past_either_limit_is_over_budget() {
        let rows = RejectBudget {
            max_rows: Some(2),
            max_ppm: None,
        };
        assert_eq!(rows.exceeded(10, 2), None);
        let over = rows.exceeded(10, 3).unwrap();
        assert_eq!(
            over,
            "3 of 10 rows rejected, more than the table's budget of 2"
        );
        let share = RejectBudget {
            max_rows: None,
            max_ppm: Some(50_000),
        };
        assert_eq!(share.exceeded(100, 5), None);
        let over = share.exceeded(100, 6).unwrap();
        assert_eq!(
            over,
            "6 of 100 rows rejected, more than the table's budget of 5%"
        );
        assert_eq!(RejectBudget::default().exceeded(1, 1), None);
        assert_eq!(RejectBudget::default().describe(), None);
    }
}
