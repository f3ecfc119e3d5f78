//! The whole numbers a numeric condition accepts, for the scheduler: it asks
//! "from how many idle minutes on does this rule hold?" instead of evaluating
//! every item on every tick.

use super::compile::{Compiled, NumberTest, Range, Test};

impl Compiled {
    /// The smallest whole number `n >= from` the condition accepts, or `None`
    /// when none does (or the condition is not numeric).
    pub fn least_integer_from(&self, from: i64) -> Option<i64> {
        let candidates: Vec<i64> = match &self.test {
            Test::Presence(true) => vec![from],
            Test::Number(NumberTest::Equals(want, false)) => whole(*want).into_iter().collect(),
            Test::Number(NumberTest::Equals(want, true)) => {
                if whole(*want) == Some(from) {
                    vec![from.saturating_add(1)]
                } else {
                    vec![from]
                }
            }
            Test::Number(NumberTest::OneOf(list)) => {
                list.iter().filter_map(|v| whole(*v)).collect()
            }
            Test::Number(NumberTest::Range(Range::Greater(min))) => {
                vec![from.max(min.floor() as i64 + 1)]
            }
            Test::Number(NumberTest::Range(Range::Less(max))) => vec![from]
                .into_iter()
                .filter(|n| (*n as f64) < *max)
                .collect(),
            Test::Number(NumberTest::Range(Range::Between(min, max))) => {
                let n = from.max(min.ceil() as i64);
                vec![n]
                    .into_iter()
                    .filter(|n| (*n as f64) <= *max)
                    .collect()
            }
            _ => return None,
        };
        candidates.into_iter().filter(|n| *n >= from).min()
    }

    /// The largest whole number `n <= to` the condition accepts, or `None`
    /// when none does (or the condition is not numeric).
    pub fn greatest_integer_to(&self, to: i64) -> Option<i64> {
        let candidates: Vec<i64> = match &self.test {
            Test::Presence(true) => vec![to],
            Test::Number(NumberTest::Equals(want, false)) => whole(*want).into_iter().collect(),
            Test::Number(NumberTest::Equals(want, true)) => {
                if whole(*want) == Some(to) {
                    vec![to.saturating_sub(1)]
                } else {
                    vec![to]
                }
            }
            Test::Number(NumberTest::OneOf(list)) => {
                list.iter().filter_map(|v| whole(*v)).collect()
            }
            Test::Number(NumberTest::Range(Range::Greater(min))) => vec![to]
                .into_iter()
                .filter(|n| (*n as f64) > *min)
                .collect(),
            Test::Number(NumberTest::Range(Range::Less(max))) => {
                vec![to.min(max.ceil() as i64 - 1)]
            }
            Test::Number(NumberTest::Range(Range::Between(min, max))) => {
                let n = to.min(max.floor() as i64);
                vec![n]
                    .into_iter()
                    .filter(|n| (*n as f64) >= *min)
                    .collect()
            }
            _ => return None,
        };
        candidates.into_iter().filter(|n| *n <= to).max()
    }
}

/// `v` as a whole number, when it is one.
fn whole(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.is_finite()).then_some(v as i64)
}

#[cfg(test)]
mod tests {
    use crate::conditions::{compile, Condition, Field, ValueKind};
    use serde_json::json;

    fn number(op: &str, value: serde_json::Value) -> crate::conditions::Compiled {
        let cond: Condition =
            serde_json::from_value(json!({"field": "idle-minutes", "op": op, "value": value}))
                .unwrap();
        compile(
            &cond,
            Field::Item("idle-minutes".into()),
            &ValueKind::Number,
        )
        .unwrap()
    }

    #[test]
    fn greater_than_five_starts_at_six() {
        assert_eq!(number("greater", json!(5)).least_integer_from(0), Some(6));
        assert_eq!(number("greater", json!(5.5)).least_integer_from(0), Some(6));
        assert_eq!(number("greater", json!(5)).least_integer_from(9), Some(9));
    }

    #[test]
    fn between_starts_at_its_lower_end_and_ends_at_its_upper_one() {
        let c = number("between", json!([5, 15]));
        assert_eq!(c.least_integer_from(0), Some(5));
        assert_eq!(c.least_integer_from(16), None);
        assert_eq!(c.greatest_integer_to(1_000), Some(15));
        assert_eq!(c.greatest_integer_to(4), None);
    }

    #[test]
    fn equals_and_one_of_accept_only_their_whole_values() {
        assert_eq!(number("equals", json!(30)).least_integer_from(0), Some(30));
        assert_eq!(
            number("equals", json!(30)).greatest_integer_to(100),
            Some(30)
        );
        assert_eq!(number("equals", json!(2.5)).least_integer_from(0), None);
        let c = number("one-of", json!([10, 3, 7]));
        assert_eq!(c.least_integer_from(4), Some(7));
        assert_eq!(c.greatest_integer_to(9), Some(7));
    }

    #[test]
    fn less_than_thirty_counts_down_from_twenty_nine() {
        let c = number("less", json!(30));
        assert_eq!(c.greatest_integer_to(1_000), Some(29));
        assert_eq!(c.least_integer_from(0), Some(0));
        assert_eq!(c.least_integer_from(30), None);
    }

    #[test]
    fn the_largest_accepted_thresholds_stay_exact() {
        let max = crate::conditions::compile::MAX_NUMBER;
        let c = number("greater", json!(max));
        assert_eq!(c.least_integer_from(0), Some(max as i64 + 1));
        let c = number("less", json!(-max));
        assert_eq!(c.greatest_integer_to(0), Some(-(max as i64) - 1));
    }

    #[test]
    fn not_equals_skips_its_value() {
        let c = number("not-equals", json!(0));
        assert_eq!(c.least_integer_from(0), Some(1));
        assert_eq!(c.greatest_integer_to(5), Some(5));
    }
}
