//! Checked settings: the one error every hogwild crate reports for a setting outside its
//! range ([`InvalidSetting`]), the range checks that produce it, and the memory budget that
//! sizes are checked against before anything is allocated ([`MemoryBudget`]).
//!
//! A crate checks its own settings struct and names the failing key relative to it
//! (`train.lr`); whoever embeds that struct prefixes the key with where the struct sits
//! ([`InvalidSetting::under`]), so the harness ends up with the full dotted key
//! (`models.gcn.train.lr`) and finds its line in `harness.toml` from the key's parts, never
//! from the message text.
//!
//! ```
//! use hogwild_settings::{positive, InvalidSetting};
//!
//! fn check_lr(lr: f64) -> Result<(), InvalidSetting> {
//!     positive("lr", lr)
//! }
//! let e = check_lr(f64::NAN).unwrap_err().under("models.gcn.train");
//! assert_eq!(e.key.to_string(), "models.gcn.train.lr");
//! assert_eq!(e.to_string(), "models.gcn.train.lr = NaN: must be a finite number above 0");
//! ```

mod key;
mod memory;

pub use key::{Key, Part};
pub use memory::{bytes_text, Bytes, MemoryBudget};

use std::fmt::Display;

/// A setting outside its valid range: which key, the value given, and what is required.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}{}: {why}", if value.is_empty() { String::new() } else { format!(" = {value}") })]
pub struct InvalidSetting {
    /// The key, relative to the struct that was checked until a caller prefixes it.
    pub key: Key,
    /// The value given, as written (empty when the error concerns the key as a whole).
    pub value: String,
    /// What is required, or why the value cannot be used.
    pub why: String,
}

impl InvalidSetting {
    /// `key = value` is invalid because of `why`.
    pub fn new(key: impl Into<Key>, value: impl Display, why: impl Into<String>) -> Self {
        InvalidSetting {
            key: key.into(),
            value: value.to_string(),
            why: why.into(),
        }
    }

    /// The same error with `prefix` in front of its key (`under("models.gcn")` turns
    /// `train.lr` into `models.gcn.train.lr`).
    pub fn under(mut self, prefix: impl Into<Key>) -> Self {
        self.key = prefix.into().join(&self.key);
        self
    }
}

/// `value` must be a finite number above 0.
pub fn positive(key: &str, value: f64) -> Result<(), InvalidSetting> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(InvalidSetting::new(
            key,
            value,
            "must be a finite number above 0",
        ))
    }
}

/// `value` must be a finite number at least 0.
pub fn non_negative(key: &str, value: f64) -> Result<(), InvalidSetting> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(InvalidSetting::new(
            key,
            value,
            "must be a finite number, 0 or above",
        ))
    }
}

/// `value` must lie strictly between 0 and 1.
pub fn open_unit(key: &str, value: f64, why: &str) -> Result<(), InvalidSetting> {
    if value > 0.0 && value < 1.0 {
        Ok(())
    } else {
        Err(InvalidSetting::new(
            key,
            value,
            format!("must lie in (0, 1): {why}"),
        ))
    }
}

/// A count `value` must be at least `min`.
pub fn at_least(key: &str, value: u64, min: u64) -> Result<(), InvalidSetting> {
    if value >= min {
        Ok(())
    } else {
        Err(InvalidSetting::new(
            key,
            value,
            format!("must be at least {min}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_checks_refuse_non_finite_and_out_of_range_values() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -1.0] {
            assert!(positive("x", bad).is_err(), "{bad}");
        }
        assert!(positive("x", 1e-300).is_ok());
        for bad in [f64::NAN, f64::INFINITY, -1e-300] {
            assert!(non_negative("x", bad).is_err(), "{bad}");
        }
        assert!(non_negative("x", 0.0).is_ok());
        for bad in [f64::NAN, 0.0, 1.0, -0.5, f64::INFINITY] {
            assert!(open_unit("x", bad, "why").is_err(), "{bad}");
        }
        assert!(open_unit("x", 0.5, "why").is_ok());
        assert_eq!(
            at_least("epochs", 0, 1).unwrap_err().to_string(),
            "epochs = 0: must be at least 1"
        );
    }

    #[test]
    fn errors_are_prefixed_by_where_their_struct_sits() {
        let e = InvalidSetting::new("staleness_bound", 0, "must be at least 1")
            .under("columns[2].async")
            .under("tables.asynchrony");
        assert_eq!(
            e.key.to_string(),
            "tables.asynchrony.columns[2].async.staleness_bound"
        );
        assert_eq!(e.key.parts().len(), 6);
        let whole = InvalidSetting::new("tables", "", "at least one table is needed");
        assert_eq!(whole.to_string(), "tables: at least one table is needed");
    }
}
