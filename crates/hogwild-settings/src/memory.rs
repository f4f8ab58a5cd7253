//! Memory estimates, checked before anything is allocated.
//!
//! A size setting (a chain of 10⁹ nodes, a hidden width of 10⁶, a staleness bound of 10⁹)
//! is refused when the estimate of what it allocates exceeds the [`MemoryBudget`], with an
//! error naming the key and the estimate, instead of the process being killed, or
//! swapping, hours into a sweep. Estimates count the dominant allocations only (a run needs
//! at least that much), in saturating arithmetic so that absurd values stay absurd rather
//! than wrapping round to small ones.

use crate::InvalidSetting;

/// A byte count in saturating arithmetic: products and sums of absurd sizes stay at
/// `u64::MAX` instead of wrapping.
///
/// ```
/// use hogwild_settings::Bytes;
/// assert_eq!(Bytes::f64s(1000).get(), 8000);
/// assert_eq!(Bytes::f64s(u64::MAX).get(), u64::MAX);
/// assert_eq!(Bytes::f64s(2).times(3).plus(Bytes(1)).get(), 49);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u64);

impl Bytes {
    /// `n` 64-bit numbers (f64, u64, usize).
    pub fn f64s(n: u64) -> Bytes {
        Bytes(n.saturating_mul(8))
    }

    /// `n` numbers of `width` bytes each.
    pub fn items(n: u64, width: u64) -> Bytes {
        Bytes(n.saturating_mul(width))
    }

    /// `self · n`.
    pub fn times(self, n: u64) -> Bytes {
        Bytes(self.0.saturating_mul(n))
    }

    /// `self + other`.
    pub fn plus(self, other: Bytes) -> Bytes {
        Bytes(self.0.saturating_add(other.0))
    }

    /// The count.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl std::iter::Sum for Bytes {
    fn sum<I: Iterator<Item = Bytes>>(iter: I) -> Bytes {
        iter.fold(Bytes(0), Bytes::plus)
    }
}

/// `bytes` for people: `512 B`, `1.5 KiB`, `23.4 GiB`; absurd sizes say so.
pub fn bytes_text(bytes: u64) -> String {
    if bytes == u64::MAX {
        return "more than 16 EiB".into();
    }
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// How much memory a sweep may plan to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    /// Bytes.
    pub bytes: u64,
    /// Whether this is the machine's physical memory (else a limit set by the caller).
    pub machine: bool,
}

impl MemoryBudget {
    /// The machine's physical memory (`MemTotal` in `/proc/meminfo`); where that cannot be
    /// read, 2⁴⁸ bytes, the address space of x86-64, which no allocation can exceed.
    pub fn machine() -> MemoryBudget {
        let total = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| {
                let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
                let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
                Some(kib.saturating_mul(1024))
            });
        MemoryBudget {
            bytes: total.unwrap_or(1 << 48),
            machine: true,
        }
    }

    /// A budget of `bytes` (tests, and callers that share the machine).
    pub fn of(bytes: u64) -> MemoryBudget {
        MemoryBudget {
            bytes,
            machine: false,
        }
    }

    /// Refuses `key = value` when `need` (what it makes `what` allocate) exceeds the budget.
    ///
    /// ```
    /// use hogwild_settings::{Bytes, MemoryBudget};
    /// let budget = MemoryBudget::of(1 << 30);
    /// let e = budget
    ///     .check("length", 1_000_000_000, Bytes::f64s(3_000_000_000), "the dataset")
    ///     .unwrap_err();
    /// assert!(e.to_string().starts_with("length = 1000000000: the dataset needs about 22.4 GiB"));
    /// ```
    pub fn check(
        &self,
        key: &str,
        value: impl std::fmt::Display,
        need: Bytes,
        what: &str,
    ) -> Result<(), InvalidSetting> {
        if need.get() <= self.bytes {
            return Ok(());
        }
        Err(InvalidSetting::new(
            key,
            value,
            format!(
                "{what} needs about {} of memory (an estimate of its largest allocations), more than {}",
                bytes_text(need.get()),
                self.describe()
            ),
        ))
    }

    /// `this machine's 23.4 GiB` or `the budget of 1.0 GiB`.
    pub fn describe(&self) -> String {
        if self.machine {
            format!("this machine's {}", bytes_text(self.bytes))
        } else {
            format!("the budget of {}", bytes_text(self.bytes))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(bytes_text(0), "0 B");
        assert_eq!(bytes_text(1023), "1023 B");
        assert_eq!(bytes_text(1536), "1.5 KiB");
        assert_eq!(bytes_text(3 << 30), "3.0 GiB");
        assert_eq!(bytes_text(u64::MAX), "more than 16 EiB");
    }

    #[test]
    fn the_machine_has_some_memory() {
        let m = MemoryBudget::machine();
        assert!(m.machine && m.bytes > 1 << 20, "{m:?}");
    }
}
