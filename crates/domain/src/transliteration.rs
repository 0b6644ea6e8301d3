//! Transliteration for the resident portal (MOSIP's `POST /transliteration/transliterate`): a resident types a
//! name or an address line in one language and the form fills in the same text in the resident's other languages.
//!
//! MOSIP uses ICU4J's transforms. This is a readable, rule-based approximation in the same spirit as ICU's
//! Latin-Arabic transform, but much smaller: each language names its script (`eng`, `fra` → `Latn`, `ara` →
//! `Arab`) and each script pair has an ordered rule table, shipped as data (`data/transliteration.json`). A table
//! lowercases the text, drops the characters in `drop` (Arabic harakat), replaces the characters in `fold` (French
//! accents), writes a doubled letter listed in `collapse` once, then at each position applies the first rule whose
//! source matches there (a rule `at` `start` or `end` only matches at the start or end of a word); characters no
//! rule covers (digits, spaces, punctuation) are copied unchanged. Latin output capitalises each word.
//!
//! The result is a suggestion: the resident sees it in the form and can correct it before submitting. An operator
//! can replace the rules file (same format, checked by [`Transliteration::parse`]) to suit a deployment.

use std::collections::BTreeMap;

use serde::Deserialize;

pub const DEFAULT_RULES: &str = include_str!("../data/transliteration.json");

/// The longest text (in characters, after trimming) a resident may ask to transliterate.
pub const MAX_TEXT_CHARS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransliterationError {
    /// MOSIP's RES-SER-410.
    #[error("'from' and 'to' languages cannot be same")]
    SameLanguage,
    #[error("unknown language '{0}'")]
    UnknownLanguage(String),
    #[error("no transliteration rules from {from} to {to}")]
    NoRules { from: String, to: String },
    #[error("text to transliterate is empty")]
    EmptyText,
    #[error("text to transliterate is longer than {MAX_TEXT_CHARS} characters")]
    TextTooLong,
    #[error("text to transliterate contains a control character")]
    ControlCharacter,
}

/// Where in a word a rule may match.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Position {
    #[default]
    Anywhere,
    Start,
    End,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub at: Position,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTable {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub fold: BTreeMap<String, String>,
    #[serde(default)]
    pub drop: String,
    #[serde(default)]
    pub collapse: String,
    #[serde(default)]
    pub capitalise: bool,
    pub rules: Vec<Rule>,
}

/// The languages' scripts and the rule tables between scripts. Built only by [`Transliteration::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transliteration {
    #[serde(default)]
    description: String,
    languages: BTreeMap<String, String>,
    tables: Vec<RuleTable>,
}

impl Transliteration {
    pub fn parse(json: &str) -> Result<Self, String> {
        let t: Transliteration = serde_json::from_str(json).map_err(|e| format!("transliteration rules: {e}"))?;
        if t.languages.is_empty() {
            return Err("transliteration rules: no languages".into());
        }
        for (n, table) in t.tables.iter().enumerate() {
            let name = format!("transliteration rules: table {} ({} to {})", n + 1, table.from, table.to);
            if table.from.is_empty() || table.to.is_empty() || table.from == table.to {
                return Err(format!("{name}: needs two different scripts"));
            }
            if t.tables[..n].iter().any(|o| o.from == table.from && o.to == table.to) {
                return Err(format!("{name}: a second table for the same scripts"));
            }
            if let Some(k) = table.fold.keys().find(|k| k.chars().count() != 1 || k.to_lowercase() != **k) {
                return Err(format!("{name}: fold key '{k}' is not one lowercase character"));
            }
            for (i, rule) in table.rules.iter().enumerate() {
                if rule.from.is_empty() {
                    return Err(format!("{name}: rule {} has an empty source", i + 1));
                }
                if rule.from.to_lowercase() != rule.from {
                    return Err(format!("{name}: rule {} source '{}' is not lowercase", i + 1, rule.from));
                }
            }
        }
        Ok(t)
    }

    pub fn default_rules() -> Result<Self, String> {
        Self::parse(DEFAULT_RULES)
    }

    /// The script of a language code (`ara` → `Arab`), matched ignoring case.
    pub fn script(&self, lang: &str) -> Option<&str> {
        self.languages.iter().find(|(l, _)| l.eq_ignore_ascii_case(lang)).map(|(_, s)| s.as_str())
    }

    pub fn table(&self, from_script: &str, to_script: &str) -> Option<&RuleTable> {
        self.tables.iter().find(|t| t.from == from_script && t.to == to_script)
    }
}

/// `text` (trimmed) written in `to`'s script. Same-script languages (`eng` → `fra`) get the trimmed text back.
pub fn transliterate(
    rules: &Transliteration,
    from: &str,
    to: &str,
    text: &str,
) -> Result<String, TransliterationError> {
    let (from, to) = (from.trim(), to.trim());
    if from.eq_ignore_ascii_case(to) {
        return Err(TransliterationError::SameLanguage);
    }
    let unknown = |l: &str| TransliterationError::UnknownLanguage(l.chars().take(32).collect());
    let from_script = rules.script(from).ok_or_else(|| unknown(from))?;
    let to_script = rules.script(to).ok_or_else(|| unknown(to))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(TransliterationError::EmptyText);
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(TransliterationError::TextTooLong);
    }
    if text.chars().any(char::is_control) {
        return Err(TransliterationError::ControlCharacter);
    }
    if from_script == to_script {
        return Ok(text.to_owned());
    }
    let table = rules
        .table(from_script, to_script)
        .ok_or_else(|| TransliterationError::NoRules { from: from_script.into(), to: to_script.into() })?;
    Ok(table.apply(text))
}

impl RuleTable {
    fn apply(&self, text: &str) -> String {
        let src = self.normalise(text);
        let mut out = String::with_capacity(text.len() * 2);
        let mut i = 0;
        while i < src.len() {
            match self.rules.iter().find_map(|r| matching(&src, i, r).map(|n| (n, r.to.as_str()))) {
                Some((n, to)) => {
                    out.push_str(to);
                    i += n;
                }
                None => {
                    out.extend(src.get(i));
                    i += 1;
                }
            }
        }
        if self.capitalise { capitalise_words(&out) } else { out }
    }

    /// Lowercased, `drop` removed, `fold` applied, doubled `collapse` letters written once.
    fn normalise(&self, text: &str) -> Vec<char> {
        let mut src: Vec<char> = Vec::with_capacity(text.len());
        let mut buf = [0u8; 4];
        for c in text.chars().flat_map(char::to_lowercase).filter(|c| !self.drop.contains(*c)) {
            let folded = self.fold.get(&*c.encode_utf8(&mut buf));
            let chars: Vec<char> = folded.map_or_else(|| vec![c], |f| f.chars().collect());
            for f in chars {
                if !(self.collapse.contains(f) && src.last() == Some(&f)) {
                    src.push(f);
                }
            }
        }
        src
    }
}

/// How many characters `rule` consumes at `src[i..]`, if it matches there (source and word position).
fn matching(src: &[char], i: usize, rule: &Rule) -> Option<usize> {
    let mut n = 0;
    for p in rule.from.chars() {
        if src.get(i + n) != Some(&p) {
            return None;
        }
        n += 1;
    }
    let letter = |k: usize| src.get(k).is_some_and(|c| c.is_alphabetic());
    let ok = match rule.at {
        Position::Anywhere => true,
        Position::Start => i.checked_sub(1).is_none_or(|k| !letter(k)),
        Position::End => !letter(i + n),
    };
    (n > 0 && ok).then_some(n)
}

/// The first letter of each word (words split at spaces, hyphens, commas and full stops) in upper case.
fn capitalise_words(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut word_start = true;
    for c in s.chars() {
        if c.is_whitespace() || matches!(c, '-' | ',' | '.') {
            word_start = true;
            out.push(c);
        } else if c.is_alphabetic() && word_start {
            out.extend(c.to_uppercase());
            word_start = false;
        } else {
            word_start &= c == '\'';
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tr(from: &str, to: &str, text: &str) -> Result<String, TransliterationError> {
        transliterate(&Transliteration::default_rules().unwrap(), from, to, text)
    }

    fn arabic_only(s: &str) -> bool {
        s.chars().filter(|c| c.is_alphabetic()).all(|c| ('\u{0600}'..='\u{06FF}').contains(&c))
    }

    fn capitalised_latin(s: &str) -> bool {
        s.split(' ').all(|w| w.starts_with(|c: char| c.is_ascii_uppercase()))
            && s.chars().all(|c| c.is_ascii_alphabetic() || c == ' ')
    }

    #[test]
    fn shipped_rules_parse() {
        let t = Transliteration::default_rules().unwrap();
        assert_eq!(t.script("eng"), Some("Latn"));
        assert_eq!(t.script("FRA"), Some("Latn"));
        assert_eq!(t.script("ara"), Some("Arab"));
        assert!(t.table("Latn", "Arab").is_some() && t.table("Arab", "Latn").is_some());
    }

    #[test]
    fn latin_names_to_arabic() {
        let jane = tr("eng", "ara", "Jane Doe").unwrap();
        assert_eq!(jane, "جن دو");
        assert!(jane.contains(' ') && arabic_only(&jane) && !jane.chars().any(|c| c.is_ascii_alphabetic()));
        assert_eq!(tr("eng", "ara", "Kenitra").unwrap(), "كنيترا");
        // French accents fold to their base letter first
        assert_eq!(tr("fra", "ara", "Hélène").unwrap(), tr("eng", "ara", "Helene").unwrap());
    }

    #[test]
    fn round_trip_gives_capitalised_latin() {
        let arabic = tr("eng", "ara", "Youssef El Amrani").unwrap();
        assert_eq!(arabic, "يوسف ال امرني");
        let back = tr("ara", "eng", &arabic).unwrap();
        assert_eq!(back, "Yousf Al Amrni");
        assert!(capitalised_latin(&back));
    }

    #[test]
    fn arabic_to_latin() {
        let jane = tr("ara", "eng", "جين دو").unwrap();
        assert_eq!(jane, "Jin Dou");
        assert!(capitalised_latin(&jane));
        assert_eq!(tr("ara", "fra", "عمر بن الخطاب").unwrap(), "Amr Bn Alkhtab");
    }

    #[test]
    fn harakat_are_dropped() {
        assert_eq!(tr("ara", "eng", "مُحَمَّد").unwrap(), tr("ara", "eng", "محمد").unwrap());
        assert_eq!(tr("ara", "eng", "مُحَمَّد").unwrap(), "Mhmd");
    }

    #[test]
    fn same_script_is_identity() {
        assert_eq!(tr("eng", "fra", "  Émile Zola ").unwrap(), "Émile Zola");
        assert_eq!(tr("fra", "eng", "Rue de la Paix").unwrap(), "Rue de la Paix");
    }

    #[test]
    fn digits_and_punctuation_pass_through() {
        let out = tr("eng", "ara", "12 Avenue Mohammed V, Apt. 3-B").unwrap();
        assert!(out.starts_with("12 ") && out.contains(", ") && out.contains(". 3-") && arabic_only(&out));
        assert_eq!(tr("ara", "eng", "١٢ شارع").unwrap(), "12 Shar'");
    }

    #[test]
    fn refusals() {
        assert_eq!(tr("eng", "ENG", "Jane"), Err(TransliterationError::SameLanguage));
        assert!(TransliterationError::SameLanguage.to_string().contains("cannot be same"));
        let unknown = tr("eng", "xyz", "Jane").unwrap_err();
        assert_eq!(unknown, TransliterationError::UnknownLanguage("xyz".into()));
        assert!(unknown.to_string().contains("xyz"));
        assert_eq!(tr("tam", "eng", "Jane"), Err(TransliterationError::UnknownLanguage("tam".into())));
        assert_eq!(tr("eng", "ara", "  \t "), Err(TransliterationError::EmptyText));
        assert!(tr("eng", "ara", &"a".repeat(MAX_TEXT_CHARS)).is_ok());
        assert_eq!(tr("eng", "ara", &"a".repeat(MAX_TEXT_CHARS + 1)), Err(TransliterationError::TextTooLong));
        assert_eq!(tr("eng", "ara", "Jane\u{7}Doe"), Err(TransliterationError::ControlCharacter));
        let one_way = r#"{"languages": {"eng": "Latn", "ara": "Arab"}, "tables": []}"#;
        let err = transliterate(&Transliteration::parse(one_way).unwrap(), "eng", "ara", "Jane");
        assert_eq!(err, Err(TransliterationError::NoRules { from: "Latn".into(), to: "Arab".into() }));
    }

    #[test]
    fn bad_rule_files_are_refused() {
        let with = |rule: &str| {
            Transliteration::parse(&format!(
                r#"{{"languages": {{"eng": "Latn"}}, "tables": [{{"from": "Latn", "to": "Arab", "rules": [{rule}]}}]}}"#
            ))
        };
        assert!(with(r#"{"from": "b", "to": "ب"}"#).is_ok());
        assert!(with(r#"{"from": "", "to": "ب"}"#).unwrap_err().contains("empty source"));
        assert!(with(r#"{"from": "B", "to": "ب"}"#).unwrap_err().contains("lowercase"));
        assert!(with(r#"{"from": "b", "to": "ب", "at": "middle"}"#).is_err());
        assert!(Transliteration::parse("{}").is_err());
    }

    proptest! {
        #[test]
        fn never_fails_on_plain_text(text in "[a-zA-Zéçà0-9 ,.'\\-\u{0621}-\u{0652}]{1,256}") {
            prop_assume!(!text.trim().is_empty());
            prop_assert!(tr("eng", "ara", &text).is_ok());
            prop_assert!(tr("ara", "fra", &text).is_ok());
        }
    }
}
