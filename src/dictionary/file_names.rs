//! File-name patterns: which files hold a table when their names do not start with it
//! (`2024-05-01_orders.csv`, `ORD_export.csv`). A pattern is matched against the file's name,
//! the last part of its key, case included: `*` stands for any run of characters (none too),
//! `?` for one. No other character is special, so a pattern means what it shows.

/// Characters other glob dialects treat as special, refused so that a pattern written for one
/// of them is not read as a literal here.
const RESERVED: [char; 6] = ['[', ']', '{', '}', '\\', '/'];

/// Why `pattern` cannot name files, if it cannot.
pub fn pattern_problem(pattern: &str) -> Option<String> {
    if pattern.is_empty() {
        return Some("a file-name pattern is not empty".into());
    }
    (pattern
        .chars()
        .find(|c| RESERVED.contains(c) || c.is_control()))
    .map(|c| {
        format!(
            "{c:?} is not part of a file-name pattern (`*` is any run of characters, `?` one, \
             everything else itself; a pattern names a file, not a folder)"
        )
    })
}

/// Whether `name` matches `pattern`.
pub fn matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    // The classic two-pointer match: on a mismatch, let the last `*` take one more character.
    let (mut p, mut n) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                last_star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match last_star {
                Some((star, taken)) => {
                    last_star = Some((star, taken + 1));
                    p = star + 1;
                    n = taken + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_take_any_run_and_question_marks_one_character() {
        assert!(matches("*_orders.csv", "2024-05-01_orders.csv"));
        assert!(matches("*_orders.csv", "_orders.csv"));
        assert!(!matches("*_orders.csv", "2024-05-01_orders.csv.gz"));
        assert!(matches("ORD??.csv", "ORD01.csv") && !matches("ORD??.csv", "ORD1.csv"));
        assert!(matches("a*b*c", "abxbc") && !matches("a*b*c", "abxbd"));
        assert!(!matches("orders*.csv", "Orders.csv"), "case included");
        assert!(matches("*", "anything") && matches("**", ""));
        assert!(matches("émis*", "émissions.csv"));
    }

    #[test]
    fn other_glob_syntax_and_folders_are_refused() {
        assert_eq!(pattern_problem("*_orders.csv"), None);
        for refused in ["", "orders[0-9].csv", "{a,b}.csv", "exports/*.csv", "a\\*"] {
            assert!(pattern_problem(refused).is_some(), "{refused}");
        }
    }
}
