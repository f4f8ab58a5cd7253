//! Text from `harness.toml` (titles, column labels) spelt for LaTeX and Markdown.
//!
//! `table.tex` must compile with plain `pdflatex` (UTF-8 input, the default since 2018,
//! and no extra packages but `booktabs`), whatever a label holds. Every character is
//! therefore either written as itself (ASCII letters, digits and harmless punctuation, and
//! the accented letters of Latin-1, which the default UTF-8 input handles), or spelt as a
//! LaTeX command (the special characters, Greek letters, ℓ and common mathematical
//! symbols). A character with no spelling is refused when the config is loaded
//! ([`latex_check`]), so it never reaches a `.tex` file. Checked by hand with pdflatex (TeX Live
//! 2022, OT1 fonts): a title and a column label holding every special character, Greek
//! letters, `ℓ`, accented letters and the symbols below compile without a missing glyph.

use hogwild_settings::{InvalidSetting, Key};

/// Text that goes into `table.md` and `table.tex`: one line, spellable in LaTeX.
pub fn check_text(key: Key, text: &str) -> Result<(), InvalidSetting> {
    if text.trim().is_empty() {
        return Err(InvalidSetting::new(
            key,
            format!("{text:?}"),
            "must not be empty",
        ));
    }
    latex_check(text).map_err(|c| {
        InvalidSetting::new(
            key,
            format!("{text:?}"),
            format!(
                "{c:?} (U+{:04X}) cannot be written into table.md and table.tex: use printable characters, Latin-1 letters, Greek letters or common math symbols",
                c as u32
            ),
        )
    })
}

/// Greek letters in code-point order from α (ς, U+03C2, is \varsigma) and from Α (U+03A2
/// is unassigned); an upper-case letter that looks Latin is the Latin letter.
const GREEK_LOWER: [&str; 25] = [
    "\\alpha",
    "\\beta",
    "\\gamma",
    "\\delta",
    "\\epsilon",
    "\\zeta",
    "\\eta",
    "\\theta",
    "\\iota",
    "\\kappa",
    "\\lambda",
    "\\mu",
    "\\nu",
    "\\xi",
    "o",
    "\\pi",
    "\\rho",
    "\\varsigma",
    "\\sigma",
    "\\tau",
    "\\upsilon",
    "\\phi",
    "\\chi",
    "\\psi",
    "\\omega",
];
const GREEK_UPPER: [&str; 25] = [
    "A",
    "B",
    "\\Gamma",
    "\\Delta",
    "E",
    "Z",
    "H",
    "\\Theta",
    "I",
    "K",
    "\\Lambda",
    "M",
    "N",
    "\\Xi",
    "O",
    "\\Pi",
    "P",
    "",
    "\\Sigma",
    "T",
    "\\Upsilon",
    "\\Phi",
    "X",
    "\\Psi",
    "\\Omega",
];

/// How `ch` is written in LaTeX text when it is not [`plain`], or `None` when it has no
/// spelling here.
fn spelling(ch: char) -> Option<std::borrow::Cow<'static, str>> {
    let greek = |table: &[&'static str; 25], first: char| {
        let command = table[ch as usize - first as usize];
        match command {
            "" => None,
            c if c.starts_with('\\') => Some(format!("${c}$").into()),
            c => Some(c.into()),
        }
    };
    Some(
        match ch {
            '&' => "\\&",
            '%' => "\\%",
            '$' => "\\$",
            '#' => "\\#",
            '_' => "\\_",
            '{' => "\\{",
            '}' => "\\}",
            '~' => "\\textasciitilde{}",
            '^' => "\\textasciicircum{}",
            '\\' => "\\textbackslash{}",
            '<' => "\\textless{}",
            '>' => "\\textgreater{}",
            '|' => "\\textbar{}",
            '"' => "\\texttt{\"}",
            '±' => "$\\pm$",
            '×' => "$\\times$",
            '÷' => "$\\div$",
            '−' => "$-$",
            '–' => "--",
            '—' => "---",
            '≤' => "$\\leq$",
            '≥' => "$\\geq$",
            '≠' => "$\\neq$",
            '≈' => "$\\approx$",
            '∞' => "$\\infty$",
            '→' => "$\\to$",
            '←' => "$\\leftarrow$",
            '·' => "$\\cdot$",
            '…' => "\\ldots{}",
            '°' => "$^\\circ$",
            '²' => "$^2$",
            '³' => "$^3$",
            '√' => "$\\surd$",
            '∑' => "$\\sum$",
            '∈' => "$\\in$",
            '∂' => "$\\partial$",
            '∇' => "$\\nabla$",
            'ℓ' => "$\\ell$",
            '‘' => "`",
            '’' => "'",
            '“' => "``",
            '”' => "''",
            'α'..='ω' => return greek(&GREEK_LOWER, 'α'),
            'Α'..='Ω' => return greek(&GREEK_UPPER, 'Α'),
            _ => return None,
        }
        .into(),
    )
}

/// Characters written as themselves: printable ASCII without LaTeX's special characters,
/// and the accented letters of Latin-1.
fn plain(ch: char) -> bool {
    ((ch.is_ascii_graphic() || ch == ' ') && !"&%$#_{}~^\\<>|\"".contains(ch))
        || (('\u{c0}'..='\u{ff}').contains(&ch) && ch.is_alphabetic())
}

/// The first character of `text` that cannot be written into a LaTeX table, if any:
/// control characters (a newline would end a LaTeX comment or a Markdown row) and any
/// character without a spelling.
pub fn latex_check(text: &str) -> Result<(), char> {
    match text.chars().find(|&c| !(plain(c) || spelling(c).is_some())) {
        Some(c) => Err(c),
        None => Ok(()),
    }
}

/// `text` spelt for LaTeX text mode (characters [`latex_check`] refuses become `?`; the config
/// loader refuses them first).
///
/// ```
/// use hogwild_harness::text::latex;
/// assert_eq!(latex("a_b & 5% ± #"), "a\\_b \\& 5\\% $\\pm$ \\#");
/// assert_eq!(latex("ℓ = 10, β = 0.1"), "$\\ell$ = 10, $\\beta$ = 0.1");
/// ```
pub fn latex(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for ch in text.chars() {
        match spelling(ch) {
            _ if plain(ch) => s.push(ch),
            Some(spelt) => s.push_str(&spelt),
            None => s.push('?'),
        }
    }
    s
}

/// `text` as LaTeX, with a leading `x = number` (one letter, `=`, a number: a swept setting,
/// as `l = 20` or `B = 20, max delay`) in math mode: `$\ell = 20$`, `$B = 20$, max delay`.
/// The letter `l` is written `\ell`, as in the papers; a Greek letter as its command.
///
/// ```
/// use hogwild_harness::text::latex_label;
/// assert_eq!(latex_label("l = 100"), "$\\ell = 100$");
/// assert_eq!(latex_label("B = 20, max delay"), "$B = 20$, max delay");
/// assert_eq!(latex_label("β = 0.1"), "$\\beta = 0.1$");
/// assert_eq!(latex_label("COUNT (10)"), "COUNT (10)");
/// ```
pub fn latex_label(text: &str) -> String {
    let mut chars = text.chars();
    let symbol = chars.next().and_then(|c| match c {
        'l' | 'ℓ' => Some("\\ell".to_string()),
        c if c.is_ascii_alphabetic() => Some(c.to_string()),
        c => spelling(c)
            .filter(|s| s.starts_with('$') && s.ends_with('$'))
            .map(|s| s.trim_matches('$').to_string()),
    });
    let rest = chars.as_str();
    let number_end = |t: &str| {
        t.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | 'e')))
            .unwrap_or(t.len())
    };
    match (symbol, rest.strip_prefix(" = ")) {
        (Some(symbol), Some(after)) => {
            let end = number_end(after);
            let number = &after[..end];
            if number.parse::<f64>().is_ok() && !number.is_empty() {
                format!("${symbol} = {number}$") + &latex(&after[end..])
            } else {
                latex(text)
            }
        }
        _ => latex(text),
    }
}

/// `text` for a Markdown table cell: `|` would end the cell.
pub fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_is_safe_and_hostile_text_is_refused() {
        assert_eq!(latex("a_b & 5% ± #"), "a\\_b \\& 5\\% $\\pm$ \\#");
        assert_eq!(latex("\\end{tabular}"), "\\textbackslash{}end\\{tabular\\}");
        assert_eq!(latex("B = 20, max delay"), "B = 20, max delay");
        assert_eq!(latex("Ω ω Α"), "$\\Omega$ $\\omega$ A");
        assert_eq!(latex("Gödel"), "Gödel");
        assert_eq!(latex("x ≤ 1 — y"), "x $\\leq$ 1 --- y");
        for bad in ['\n', '\r', '\t', '\u{0}', '\u{7f}', '😀', 'ツ', '\u{2028}'] {
            assert_eq!(latex_check(&format!("a{bad}b")), Err(bad), "{bad:?}");
        }
        assert_eq!(latex_check("l = 100, β = 0.1 (ours)"), Ok(()));
        // Every Greek letter has a spelling (final sigma included), and every spelling
        // closes its math mode.
        for ch in ('α'..='ω').chain('Α'..='Ω').filter(|&c| c != '\u{3a2}') {
            let s = latex(&ch.to_string());
            assert!(
                !s.is_empty() && s != "?" && s.matches('$').count().is_multiple_of(2),
                "{ch}: {s}"
            );
        }
    }

    #[test]
    fn pipes_are_escaped_in_markdown_cells() {
        assert_eq!(markdown_cell("a | b"), "a \\| b");
    }
}
