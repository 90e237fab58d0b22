//! Text cells as Kernel SHAP players: a cell cut into units (tokens,
//! sentences or paragraphs), and a cell rendered back with some units
//! replaced by the baseline string.
//!
//! Units come from Unicode's segmentation rules (UAX #29, through the
//! `unicode-segmentation` crate), with three adjustments towards what spaCy,
//! Clarify's tokeniser, gives:
//! - tokens: every word, number, punctuation mark and emoji is a unit;
//!   whitespace is not. A run of dots (`...`) is one unit, as in spaCy.
//! - sentences: a sentence does not end after a known abbreviation
//!   (`e.g.`, `Dr.`, `etc.` …), at a full stop with no space after it
//!   (`page...And`), nor before a word in lower case (`"Wow!" she
//!   said.`); UAX #29 already keeps decimals (`3.5`) inside one sentence.
//! - paragraphs: runs of lines between blank lines (`\n`, `\r\n` or `\r`
//!   endings; a line of only whitespace is blank).
//!
//! Each unit is trimmed of surrounding whitespace, so the text between units
//! (spaces, line breaks) is never a player and is kept when a unit is
//! replaced. Offsets (`start_idx`) count Unicode code points, as Python's
//! string indices do.

use crate::config::TextGranularity;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use unicode_segmentation::UnicodeSegmentation;

/// Abbreviations after which a full stop does not end a sentence (lower
/// case, with their dots). spaCy's English exceptions hold these and more.
const ABBREVIATIONS: &[&str] = &[
    "e.g.", "i.e.", "etc.", "vs.", "dr.", "mr.", "mrs.", "ms.", "prof.", "st.", "jr.", "sr.",
    "no.", "approx.", "inc.", "ltd.", "co.", "corp.", "fig.", "u.s.", "a.m.", "p.m.", "jan.",
    "feb.", "mar.", "apr.", "jun.", "jul.", "aug.", "sep.", "sept.", "oct.", "nov.", "dec.",
];

/// One unit of a text cell: its byte range in the cell, and the offset of
/// its first character in code points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// Where the unit's text is in the cell, in bytes.
    pub bytes: Range<usize>,
    /// Where it starts, in code points (Clarify's `start_idx`).
    pub start_idx: usize,
}

/// The units of `text` at `granularity`, in text order.
pub fn segment(text: &str, granularity: TextGranularity) -> Vec<Unit> {
    let spans = match granularity {
        TextGranularity::Token => tokens(text),
        TextGranularity::Sentence => sentences(text),
        TextGranularity::Paragraph => paragraphs(text),
    };
    with_code_point_offsets(text, spans)
}

/// `text` with each unit's span replaced by `unit_text` of its index (the
/// unit itself when present, the baseline string when absent), every other
/// character kept.
pub fn render<'a>(text: &'a str, units: &[Unit], unit_text: impl Fn(usize) -> &'a str) -> String {
    let mut rendered = String::with_capacity(text.len());
    let mut at = 0;
    for (i, unit) in units.iter().enumerate() {
        rendered.push_str(&text[at..unit.bytes.start]);
        rendered.push_str(unit_text(i));
        at = unit.bytes.end;
    }
    rendered.push_str(&text[at..]);
    rendered
}

/// Word-boundary segments that are not whitespace, runs of `.` joined.
fn tokens(text: &str) -> Vec<Range<usize>> {
    let mut spans: Vec<Range<usize>> = Vec::new();
    for (start, piece) in text.split_word_bound_indices() {
        if piece.chars().all(char::is_whitespace) {
            continue;
        }
        let end = start + piece.len();
        match spans.last_mut() {
            Some(last)
                if piece == "."
                    && last.end == start
                    && text[last.clone()].bytes().all(|b| b == b'.') =>
            {
                last.end = end
            }
            _ => spans.push(start..end),
        }
    }
    spans
}

/// UAX #29 sentences, trimmed, joined after abbreviations and after a full
/// stop that no space follows.
fn sentences(text: &str) -> Vec<Range<usize>> {
    let mut spans: Vec<Range<usize>> = Vec::new();
    for (start, piece) in text.split_sentence_bound_indices() {
        let Some(span) = trimmed(text, start..start + piece.len()) else {
            continue;
        };
        match spans.last_mut() {
            Some(last) if continues_sentence(text, last, &span) => last.end = span.end,
            _ => spans.push(span),
        }
    }
    spans
}

/// Whether the sentence `next` is really the rest of `previous`: a
/// sentence does not start in lower case (`"Wow!" she said.`), nor after an
/// abbreviation or a full stop with no space after it; a line break ends
/// a sentence whatever precedes it.
fn continues_sentence(text: &str, previous: &Range<usize>, next: &Range<usize>) -> bool {
    let between = &text[previous.end..next.start];
    if between.contains(['\n', '\r']) {
        return false;
    }
    if text[next.clone()]
        .chars()
        .next()
        .is_some_and(char::is_lowercase)
    {
        return true;
    }
    let before = &text[previous.clone()];
    if !before.ends_with('.') {
        return false;
    }
    if between.is_empty() {
        return true;
    }
    let last_word = before
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or(before)
        .trim_start_matches(['(', '"', '\'', '“', '‘'])
        .to_lowercase();
    ABBREVIATIONS.contains(&last_word.as_str())
}

/// Maximal runs of non-blank lines, trimmed.
fn paragraphs(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut current: Option<Range<usize>> = None;
    let mut at = 0;
    for line in text.split_inclusive(['\n', '\r']) {
        let line_range = at..at + line.len();
        at += line.len();
        if line.trim().is_empty() {
            // `\r\n` splits into "…\r" and "\n": the lone "\n" is the end of
            // the line before, not a blank line.
            if line == "\n" && text[..line_range.start].ends_with('\r') {
                continue;
            }
            spans.extend(current.take().and_then(|p| trimmed(text, p)));
            continue;
        }
        current = Some(match current {
            Some(paragraph) => paragraph.start..line_range.end,
            None => line_range,
        });
    }
    spans.extend(current.and_then(|p| trimmed(text, p)));
    spans
}

/// `span` without leading and trailing whitespace; `None` when nothing is left.
fn trimmed(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    let piece = &text[span.clone()];
    let start = span.start + (piece.len() - piece.trim_start().len());
    let end = span.start + piece.trim_end().len();
    (start < end).then_some(start..end)
}

/// Units from byte spans (in text order), counting code points in one pass.
fn with_code_point_offsets(text: &str, spans: Vec<Range<usize>>) -> Vec<Unit> {
    let mut chars = text.char_indices().enumerate().peekable();
    spans
        .into_iter()
        .map(|bytes| {
            let mut start_idx = text.chars().count();
            while let Some(&(index, (offset, _))) = chars.peek() {
                if offset >= bytes.start {
                    start_idx = index;
                    break;
                }
                chars.next();
            }
            Unit { bytes, start_idx }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `text` with the units `present` says are absent replaced by `replacement`.
    fn replaced(
        text: &str,
        units: &[Unit],
        present: impl Fn(usize) -> bool,
        replacement: &str,
    ) -> String {
        render(text, units, |i| match present(i) {
            true => &text[units[i].bytes.clone()],
            false => replacement,
        })
    }

    fn texts(text: &str, granularity: TextGranularity) -> Vec<&str> {
        segment(text, granularity)
            .into_iter()
            .map(|u| &text[u.bytes])
            .collect()
    }

    #[test]
    fn tokens_split_punctuation_and_keep_ellipses_whole() {
        assert_eq!(
            texts(
                "I love it... \"Great\" value, 3.5 stars!",
                TextGranularity::Token
            ),
            ["I", "love", "it", "...", "\"", "Great", "\"", "value", ",", "3.5", "stars", "!"]
        );
        // UAX #29 keeps contractions whole where spaCy splits them ("do", "n't").
        assert_eq!(texts("don't", TextGranularity::Token), ["don't"]);
    }

    #[test]
    fn tokens_of_non_latin_scripts_and_emoji() {
        assert_eq!(
            texts("我喜欢它", TextGranularity::Token),
            ["我", "喜", "欢", "它"]
        );
        assert_eq!(
            texts("المنتج رائع جدا.", TextGranularity::Token),
            ["المنتج", "رائع", "جدا", "."]
        );
        // A ZWJ family and a flag are one unit each.
        assert_eq!(
            texts("love 👨‍👩‍👧 🇫🇷!", TextGranularity::Token),
            ["love", "👨‍👩‍👧", "🇫🇷", "!"]
        );
    }

    #[test]
    fn sentences_survive_ellipses_abbreviations_decimals_and_quotes() {
        let text = "I caught a sneak peak on a page...and i was so excited. It costs 3.5 dollars, e.g. cheap. Dr. Smith agreed. \"Wow!\" she said. Then... Nothing.";
        assert_eq!(
            texts(text, TextGranularity::Sentence),
            [
                "I caught a sneak peak on a page...and i was so excited.",
                "It costs 3.5 dollars, e.g. cheap.",
                "Dr. Smith agreed.",
                "\"Wow!\" she said.",
                "Then...",
                "Nothing."
            ]
        );
        assert_eq!(
            texts("Wait...What? Yes.", TextGranularity::Sentence),
            ["Wait...What?", "Yes."]
        );
    }

    #[test]
    fn sentences_of_chinese_and_arabic() {
        assert_eq!(
            texts("我很喜欢。质量很好！", TextGranularity::Sentence),
            ["我很喜欢。", "质量很好！"]
        );
        assert_eq!(
            texts("المنتج رائع. أنصح به؟ نعم", TextGranularity::Sentence),
            ["المنتج رائع.", "أنصح به؟", "نعم"]
        );
    }

    #[test]
    fn paragraphs_split_at_blank_lines_of_any_line_ending() {
        let text = "First line\r\nstill first.\r\n\r\nSecond.\n \nThird\r\rFourth";
        assert_eq!(
            texts(text, TextGranularity::Paragraph),
            ["First line\r\nstill first.", "Second.", "Third", "Fourth"]
        );
        assert!(segment("  \r\n\n ", TextGranularity::Paragraph).is_empty());
    }

    #[test]
    fn offsets_count_code_points() {
        let units = segment("é 😀 ok", TextGranularity::Token);
        let offsets: Vec<usize> = units.iter().map(|u| u.start_idx).collect();
        assert_eq!(offsets, [0, 2, 4]);
    }

    #[test]
    fn absent_units_become_the_replacement_and_the_rest_stays() {
        let text = "Good  food, bad\tservice.";
        let units = segment(text, TextGranularity::Token);
        let rendered = replaced(text, &units, |i| i % 2 == 1, "<UNK>");
        assert_eq!(rendered, "<UNK>  food<UNK> bad\t<UNK>.");
        assert_eq!(replaced(text, &units, |_| true, ""), text);
    }

    proptest! {
        #[test]
        fn units_reconstruct_the_cell(text in "\\PC{0,40}|[a-z .!?\\n\\r…。é😀]{0,60}") {
            for granularity in [TextGranularity::Token, TextGranularity::Sentence, TextGranularity::Paragraph] {
                let units = segment(&text, granularity);
                let code_points: Vec<char> = text.chars().collect();
                let mut previous_end = 0;
                for unit in &units {
                    let partial_text = &text[unit.bytes.clone()];
                    prop_assert!(!partial_text.is_empty());
                    prop_assert!(unit.bytes.start >= previous_end, "units are in order and disjoint");
                    previous_end = unit.bytes.end;
                    // Python's text[start_idx:start_idx + len(partial_text)].
                    let length = partial_text.chars().count();
                    let sliced: String = code_points[unit.start_idx..unit.start_idx + length].iter().collect();
                    prop_assert_eq!(sliced.as_str(), partial_text);
                }
                // Whatever lies between units is whitespace only.
                let kept = replaced(&text, &units, |_| false, "");
                prop_assert!(kept.chars().all(char::is_whitespace), "{:?}", kept);
                prop_assert_eq!(replaced(&text, &units, |_| true, "x"), text.clone());
            }
        }
    }
}
