//! The table as a LaTeX `tabular` and one macro per cell.

use super::{one_decimal, TableReport};
use crate::text;
use std::fmt::Write as _;

/// `gcn-sync` → `GcnSync`: letters only (macro names cannot hold digits or dashes; digits
/// become words).
fn macro_word(key: &str) -> String {
    const DIGITS: [&str; 10] = [
        "Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine",
    ];
    let mut s = String::new();
    let mut upper = true;
    for ch in key.chars() {
        if let Some(d) = ch.to_digit(10) {
            s.push_str(DIGITS[d as usize]);
            upper = true;
        } else if ch.is_ascii_alphabetic() {
            s.push(if upper { ch.to_ascii_uppercase() } else { ch });
            upper = false;
        } else {
            upper = true;
        }
    }
    s
}

/// 0 → `A`, 25 → `Z`, 26 → `AA`, …
fn column_letters(mut j: usize) -> String {
    let mut s = vec![];
    loop {
        s.push(b'A' + (j % 26) as u8);
        if j < 26 {
            break;
        }
        j = j / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).expect("ASCII")
}

/// A table wider than this many characters of text is scaled to the line width.
const WIDE_CHARACTERS: usize = 90;

impl TableReport {
    /// Each column's macro word: its label as letters (`l = 20` → `LTwoZero`), or its
    /// letter (A, B, …) where the label has no letters or two labels give the same word.
    fn column_words(&self) -> Vec<String> {
        let words: Vec<String> = self
            .config
            .columns
            .iter()
            .map(|c| macro_word(&c.label))
            .collect();
        words
            .iter()
            .enumerate()
            .map(|(j, w)| {
                if w.is_empty() || words.iter().filter(|x| *x == w).count() > 1 {
                    column_letters(j)
                } else {
                    w.clone()
                }
            })
            .collect()
    }

    /// Whether the table is too wide for a page and is scaled to the line width.
    fn is_wide(&self) -> bool {
        let cell = "100.0 ± 10.0".len();
        let width: usize = self
            .config
            .columns
            .iter()
            .map(|c| c.label.chars().count().max(cell) + 3)
            .sum::<usize>()
            + "Energy GNN (async)".len();
        width > WIDE_CHARACTERS
    }

    /// The table in the paper's layout as a LaTeX `tabular` (needs `booktabs`; a table
    /// wider than a page is scaled to the line width with `graphicx`'s `\resizebox`).
    /// Headers that are a swept setting (`l = 20`) are in math mode.
    pub fn table_latex(&self) -> String {
        let c = &self.config;
        let wide = self.is_wide();
        let mut s = format!(
            "% {} (hogwild: results/{}/table.md has the comparison with the paper)\n\
             % Needs \\usepackage{{booktabs}}{}; per-cell macros are in macros.tex.\n",
            text::latex(&c.title),
            self.name,
            if wide {
                " and \\usepackage{graphicx} (scaled to the line width)"
            } else {
                ""
            }
        );
        if wide {
            s.push_str("\\resizebox{\\linewidth}{!}{%\n");
        }
        write!(
            s,
            "\\begin{{tabular}}{{l{}}}\n\\toprule\nModel",
            "c".repeat(c.columns.len())
        )
        .unwrap();
        for col in &c.columns {
            write!(s, " & {}", text::latex_label(&col.label)).unwrap();
        }
        s.push_str(" \\\\\n\\midrule\n");
        for ((_, display), row) in self.rows.iter().zip(&self.cells) {
            s.push_str(&text::latex(display));
            for cell in row {
                let (mean, std) = (one_decimal(cell.mean), one_decimal(cell.std));
                write!(s, " & ${mean:.1} \\pm {std:.1}$").unwrap();
            }
            s.push_str(" \\\\\n");
        }
        s.push_str("\\bottomrule\n\\end{tabular}\n");
        if wide {
            s.push_str("}\n");
        }
        s
    }

    /// One LaTeX macro per cell, for a paper to `\input`: `\hw<Table><Row><Column>` expands
    /// to `mean \pm std` (math mode), `...Mean` and `...Std` to each number. `<Column>` is
    /// the column's label in letters, digits spelt out (`l = 20` → `LTwoZero`: the macro
    /// `\hwChainsGcnAsyncLTwoZero`), or its letter (A, B, …) where a label has no letters or
    /// two labels give the same word. Defined with `\providecommand`, so a document may
    /// input the file twice or define a macro first.
    pub fn latex_macros(&self) -> String {
        let c = &self.config;
        let mut s = format!(
            "% {}: one macro per cell (hogwild, results/{}/)\n",
            text::latex(&c.title),
            self.name
        );
        let words = self.column_words();
        for ((key, display), row) in self.rows.iter().zip(&self.cells) {
            for ((col, cell), word) in c.columns.iter().zip(row).zip(&words) {
                let name = format!("hw{}{}{word}", macro_word(&self.name), macro_word(key));
                writeln!(
                    s,
                    "% {} / {}\n\\providecommand{{\\{name}}}{{{:.1} \\pm {:.1}}}\n\
                     \\providecommand{{\\{name}Mean}}{{{:.1}}}\n\\providecommand{{\\{name}Std}}{{{:.1}}}",
                    text::latex(display),
                    text::latex(&col.label),
                    one_decimal(cell.mean),
                    one_decimal(cell.std),
                    one_decimal(cell.mean),
                    one_decimal(cell.std)
                )
                .unwrap();
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_names_are_letters_only() {
        assert_eq!(macro_word("gcn-sync"), "GcnSync");
        assert_eq!(macro_word("chains"), "Chains");
        assert_eq!(macro_word("b2-x"), "BTwoX");
        assert_eq!(
            [0, 1, 25, 26, 27, 701, 702].map(column_letters),
            ["A", "B", "Z", "AA", "AB", "ZZ", "AAA"]
        );
    }
}
