//! An object detector's answers: boxes with a class and a score, the boxes
//! that are explained, and a box's value in a masked image.
//!
//! A detector answers, per image, a list of detections
//! `[class_id, score, xmin, ymin, xmax, ymax]` with coordinates normalised to
//! [0, 1] (the shape AWS's object-detection example serves). The top
//! `max_objects` detections of the original image scoring at least
//! `probability_threshold` are explained; in a masked image, an object's
//! value is the highest score among detections of its class whose box
//! overlaps the original box with IoU ≥ `iou_threshold`, or 0 when none does.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// One detected object.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// The class id: an index into `label_headers`.
    pub class: f64,
    /// The detector's confidence.
    pub score: f64,
    /// `[xmin, ymin, xmax, ymax]`, normalised to [0, 1].
    pub bbox: [f64; 4],
}

/// Reads one image's detections from the model's answer for it: a list of
/// six-number lists (or one such list alone, or that list wrapped once
/// more, as batch-shaped answers are). Returns why when it is none of these.
pub fn parse(answer: &Json) -> Result<Vec<Detection>, String> {
    let numbers =
        |v: &Json| -> Option<Vec<f64>> { v.as_array()?.iter().map(Json::as_f64).collect() };
    let one = |v: &Json| -> Option<Detection> {
        match numbers(v)?.as_slice() {
            &[class, score, x0, y0, x1, y1] => Some(Detection {
                class,
                score,
                bbox: [x0, y0, x1, y1],
            }),
            _ => None,
        }
    };
    if let Some(single) = one(answer) {
        return Ok(vec![single]);
    }
    let list = answer.as_array().ok_or_else(|| expected(answer))?;
    if let [inner @ Json::Array(items)] = list.as_slice() {
        if items.first().is_some_and(|i| one(i).is_some()) {
            return parse(inner);
        }
    }
    list.iter()
        .map(|item| one(item).ok_or_else(|| expected(answer)))
        .collect()
}

fn expected(answer: &Json) -> String {
    format!(
        "expected a list of detections [class_id, score, xmin, ymin, xmax, ymax], got {}",
        crate::http::snippet(&answer.to_string())
    )
}

/// Intersection over union of two `[xmin, ymin, xmax, ymax]` boxes (0 when
/// either has no area).
pub fn iou(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    let area = |r: &[f64; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let overlap = [
        a[0].max(b[0]),
        a[1].max(b[1]),
        a[2].min(b[2]),
        a[3].min(b[3]),
    ];
    let inter = area(&overlap);
    let union = area(a) + area(b) - inter;
    match union > 0.0 {
        true => inter / union,
        false => 0.0,
    }
}

/// The objects to explain: the `max_objects` highest-scoring detections
/// with a score of at least `threshold`, highest first (ties keep the
/// model's order).
pub fn top_objects(
    mut detections: Vec<Detection>,
    threshold: f64,
    max_objects: usize,
) -> Vec<Detection> {
    detections.retain(|d| d.score >= threshold);
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    detections.truncate(max_objects);
    detections
}

/// The value of `object` in an image where the model found `detections`:
/// the best score among detections of its class overlapping it with IoU ≥
/// `iou_threshold`, else 0.
pub fn object_score(object: &Detection, detections: &[Detection], iou_threshold: f64) -> f64 {
    detections
        .iter()
        .filter(|d| d.class == object.class && iou(&d.bbox, &object.bbox) >= iou_threshold)
        .map(|d| d.score)
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn det(class: f64, score: f64, bbox: [f64; 4]) -> Detection {
        Detection { class, score, bbox }
    }

    #[test]
    fn answers_of_every_shape_read_as_detections() {
        let two = json!([[1, 0.9, 0.1, 0.1, 0.5, 0.5], [0, 0.3, 0, 0, 1, 1]]);
        assert_eq!(parse(&two).unwrap().len(), 2);
        // One detection, unwrapped by the per-record split, or wrapped once more.
        assert_eq!(
            parse(&json!([1, 0.9, 0.1, 0.1, 0.5, 0.5])).unwrap().len(),
            1
        );
        assert_eq!(
            parse(&json!([[[1, 0.9, 0.1, 0.1, 0.5, 0.5]]]))
                .unwrap()
                .len(),
            1
        );
        assert!(parse(&json!([])).unwrap().is_empty());
        let e = parse(&json!({"boxes": 1})).unwrap_err();
        assert!(
            e.contains("[class_id, score, xmin, ymin, xmax, ymax]"),
            "{e}"
        );
    }

    #[test]
    fn iou_of_known_boxes() {
        let a = [0.0, 0.0, 0.5, 0.5];
        assert_eq!(iou(&a, &a), 1.0);
        assert_eq!(iou(&a, &[0.5, 0.5, 1.0, 1.0]), 0.0);
        // Half of a overlaps a box of the same size: 1/8 over 3/8.
        assert!((iou(&a, &[0.25, 0.0, 0.75, 0.5]) - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn objects_are_the_top_scores_above_the_threshold() {
        let found = vec![
            det(0.0, 0.4, [0.0; 4]),
            det(1.0, 0.9, [0.0; 4]),
            det(2.0, 0.7, [0.0; 4]),
            det(3.0, 0.8, [0.0; 4]),
        ];
        let top = top_objects(found, 0.5, 2);
        assert_eq!(
            top.iter().map(|d| d.class).collect::<Vec<_>>(),
            vec![1.0, 3.0]
        );
    }

    #[test]
    fn a_masked_object_scores_only_when_its_class_overlaps_enough() {
        let object = det(1.0, 0.9, [0.0, 0.0, 0.5, 0.5]);
        let shifted = [0.25, 0.0, 0.75, 0.5]; // IoU 1/3
        assert_eq!(object_score(&object, &[det(1.0, 0.6, shifted)], 0.3), 0.6);
        assert_eq!(object_score(&object, &[det(1.0, 0.6, shifted)], 0.5), 0.0);
        assert_eq!(
            object_score(&object, &[det(2.0, 0.6, object.bbox)], 0.5),
            0.0
        );
        let both = [det(1.0, 0.2, object.bbox), det(1.0, 0.7, object.bbox)];
        assert_eq!(object_score(&object, &both, 0.5), 0.7);
    }
}
