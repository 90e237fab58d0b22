//! `methods.shap.text_config`: which units text columns are cut into, and
//! the languages the SDK accepts.
//!
//! The language list is the SDK schema's, which is spaCy's language set: 62
//! names, each with its two-letter code, `multi-language` / `xx` for mixed
//! text. openclarify's segmentation follows Unicode's rules (UAX #29) for
//! every language, so the language is checked and recorded but does not
//! change where units start and end (see docs/text.md).

use crate::error::JobError;
use serde::{Deserialize, Serialize};

/// `methods.shap.text_config`, as the SDK's `TextConfig` writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextConfig {
    /// `token`, `sentence` or `paragraph`.
    pub granularity: String,
    /// A language name or its two-letter code.
    pub language: String,
    /// Units kept per text column in `global_top_shap_text` (default 50).
    pub max_top_tokens: Option<u32>,
}

/// `max_top_tokens` when the config leaves it out (the container schema's default).
pub const DEFAULT_MAX_TOP_TOKENS: usize = 50;

/// What one player of a text column is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextGranularity {
    /// A word, a number, a punctuation mark or an emoji.
    Token,
    /// A sentence.
    Sentence,
    /// A run of lines between blank lines.
    Paragraph,
}

impl TextConfig {
    /// The granularity, if `granularity` names one (in any case).
    pub fn granularity(&self) -> Option<TextGranularity> {
        match self.granularity.to_ascii_lowercase().as_str() {
            "token" => Some(TextGranularity::Token),
            "sentence" => Some(TextGranularity::Sentence),
            "paragraph" => Some(TextGranularity::Paragraph),
            _ => None,
        }
    }

    /// `max_top_tokens`, or its default.
    pub fn max_top_tokens(&self) -> usize {
        self.max_top_tokens
            .map_or(DEFAULT_MAX_TOP_TOKENS, |n| n as usize)
    }

    /// What is wrong with the keys, each as a sentence naming its JSON path.
    pub fn problems(&self) -> Vec<JobError> {
        let mut errors = Vec::new();
        if self.granularity().is_none() {
            errors.push(JobError::client(format!(
                "methods.shap.text_config.granularity: {:?} is not one of token, sentence, paragraph.",
                self.granularity
            )));
        }
        let language = self.language.to_lowercase();
        if !LANGUAGES
            .iter()
            .any(|(name, code)| *name == language || *code == language)
        {
            let known: Vec<String> = LANGUAGES
                .iter()
                .map(|(name, code)| format!("{name}/{code}"))
                .collect();
            errors.push(JobError::client(format!(
                "methods.shap.text_config.language: {:?} is not a supported language; use one of {}.",
                self.language,
                known.join(", ")
            )));
        }
        if self.max_top_tokens == Some(0) {
            errors.push(JobError::client(
                "methods.shap.text_config.max_top_tokens: 0 keeps no unit; give a positive number (default 50).",
            ));
        }
        errors
    }
}

/// The languages the SDK's schema accepts, as (name, two-letter code).
const LANGUAGES: &[(&str, &str)] = &[
    ("chinese", "zh"),
    ("danish", "da"),
    ("dutch", "nl"),
    ("english", "en"),
    ("french", "fr"),
    ("german", "de"),
    ("greek", "el"),
    ("italian", "it"),
    ("japanese", "ja"),
    ("lithuanian", "lt"),
    ("multi-language", "xx"),
    ("norwegian bokmål", "nb"),
    ("polish", "pl"),
    ("portuguese", "pt"),
    ("romanian", "ro"),
    ("russian", "ru"),
    ("spanish", "es"),
    ("afrikaans", "af"),
    ("albanian", "sq"),
    ("arabic", "ar"),
    ("armenian", "hy"),
    ("basque", "eu"),
    ("bengali", "bn"),
    ("bulgarian", "bg"),
    ("catalan", "ca"),
    ("croatian", "hr"),
    ("czech", "cs"),
    ("estonian", "et"),
    ("finnish", "fi"),
    ("gujarati", "gu"),
    ("hebrew", "he"),
    ("hindi", "hi"),
    ("hungarian", "hu"),
    ("icelandic", "is"),
    ("indonesian", "id"),
    ("irish", "ga"),
    ("kannada", "kn"),
    ("kyrgyz", "ky"),
    ("latvian", "lv"),
    ("ligurian", "lij"),
    ("luxembourgish", "lb"),
    ("macedonian", "mk"),
    ("malayalam", "ml"),
    ("marathi", "mr"),
    ("nepali", "ne"),
    ("persian", "fa"),
    ("sanskrit", "sa"),
    ("serbian", "sr"),
    ("setswana", "tn"),
    ("sinhala", "si"),
    ("slovak", "sk"),
    ("slovenian", "sl"),
    ("swedish", "sv"),
    ("tagalog", "tl"),
    ("tamil", "ta"),
    ("tatar", "tt"),
    ("telugu", "te"),
    ("thai", "th"),
    ("turkish", "tr"),
    ("ukrainian", "uk"),
    ("urdu", "ur"),
    ("vietnamese", "vi"),
    ("yoruba", "yo"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn config(granularity: &str, language: &str) -> TextConfig {
        TextConfig {
            granularity: granularity.into(),
            language: language.into(),
            max_top_tokens: None,
        }
    }

    #[test]
    fn names_and_codes_are_accepted_in_any_case() {
        assert_eq!(LANGUAGES.len(), 63, "62 languages and multi-language");
        for language in [
            "english",
            "EN",
            "xx",
            "Multi-Language",
            "Norwegian Bokmål",
            "lij",
        ] {
            assert!(
                config("token", language).problems().is_empty(),
                "{language}"
            );
        }
        assert_eq!(
            config("Sentence", "en").granularity(),
            Some(TextGranularity::Sentence)
        );
        assert_eq!(config("token", "en").max_top_tokens(), 50);
    }

    #[test]
    fn unknown_values_are_refused_with_the_choices() {
        let problems = config("word", "klingon").problems();
        assert_eq!(problems.len(), 2);
        assert!(problems[0].message.contains("token, sentence, paragraph"));
        assert!(problems[1].message.contains("\"klingon\""));
        assert!(problems[1].message.contains("english/en"));
        assert!(problems[1].message.contains("multi-language/xx"));
    }
}
