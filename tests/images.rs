//! `methods.shap.image_config` end to end, against the demo image models
//! (`demo-model --vision`), whose answers are restated here as the reference
//! (src/demo_model/vision.rs):
//!
//! - classifier: `softmax(8 × mean(R, G, B) / 255)` over `red, green, blue`;
//! - detector: per image quadrant, the box around its pixels of luma ≥ 128,
//!   scored by the box's mean luma / 255, class the channel with the
//!   largest mean in the box.
//!
//! Images made of flat tiles segment into exactly those tiles (SLIC's grid
//! falls on them), so with a few segments every coalition is evaluated and
//! the values must equal Shapley values enumerated here by brute force.

mod common;

use common::*;
use image::{Rgb, RgbImage};
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};

/// An image of `tiles × tiles` square tiles of `size` pixels, coloured
/// row by row from `colours`.
fn tiled(tiles: u32, size: u32, colours: &[[u8; 3]]) -> RgbImage {
    RgbImage::from_fn(tiles * size, tiles * size, |x, y| {
        Rgb(colours[(y / size * tiles + x / size) as usize])
    })
}

/// Four flat quadrants.
const QUADRANTS: [[u8; 3]; 4] = [[200, 30, 30], [30, 200, 30], [30, 30, 200], [220, 220, 40]];

/// Writes `config` and runs the job on `data`; returns the output folder,
/// or panics with the failure message.
fn run(dir: &Path, model: &DemoModel, data: &Path, config: Json) -> PathBuf {
    let config_path = dir.join("analysis_config.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let out = dir.join("output");
    run_job_ok(&config_path, data, &out, &["--endpoint-url", &model.url]);
    out
}

/// An image job's config as the SDK writes it.
fn config(image_config: Json, shap_extra: Json, predictor_extra: Json) -> Json {
    let mut shap = json!({"image_config": image_config, "num_samples": 100, "seed": 1});
    for (k, v) in shap_extra.as_object().unwrap() {
        shap[k] = v.clone();
    }
    let mut predictor = json!({"endpoint_name": "vision", "content_type": "image/png",
                               "label_headers": ["red", "green", "blue"]});
    for (k, v) in predictor_extra.as_object().unwrap() {
        predictor[k] = v.clone();
    }
    json!({"dataset_type": "application/x-image",
           "methods": {"shap": shap, "report": {"name": "report"}},
           "predictor": predictor})
}

/// The output lines, in dataset order.
fn lines(out: &Path) -> Vec<Json> {
    read_json_lines(&out.join("explanations_shap/out.jsonl"))
}

/// Exact Shapley values of `v` over `n` players, by enumeration.
fn brute_force(n: usize, v: impl Fn(&[bool]) -> f64) -> Vec<f64> {
    let factorial = |k: usize| (1..=k).map(|i| i as f64).product::<f64>();
    (0..n)
        .map(|i| {
            (0u32..1 << n)
                .filter(|bits| bits & (1 << i) == 0)
                .map(|bits| {
                    let mut s: Vec<bool> = (0..n).map(|j| bits & (1 << j) != 0).collect();
                    let size = s.iter().filter(|&&p| p).count();
                    let without = v(&s);
                    s[i] = true;
                    factorial(size) * factorial(n - size - 1) / factorial(n) * (v(&s) - without)
                })
                .sum()
        })
        .collect()
}

/// The demo classifier, restated.
fn classifier(mean: [f64; 3]) -> [f64; 3] {
    let e = mean.map(|m| (8.0 * m / 255.0).exp());
    let total: f64 = e.iter().sum();
    e.map(|x| x / total)
}

fn number_list(v: &Json) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn classification_values_equal_brute_force_shapley_values_in_every_format() {
    let model = DemoModel::start(&["--vision", "classifier"]);
    for content_type in ["image/png", "application/x-npy"] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("images");
        std::fs::create_dir(&data).unwrap();
        tiled(2, 32, &QUADRANTS)
            .save(data.join("quadrants.png"))
            .unwrap();
        let grey = [90u8, 120, 10];
        RgbImage::from_pixel(8, 8, Rgb(grey))
            .save(dir.path().join("grey.png"))
            .unwrap();
        let out = run(
            dir.path(),
            &model,
            &data,
            config(
                json!({"model_type": "IMAGE_CLASSIFICATION", "num_segments": 4}),
                json!({"baseline": "grey.png"}),
                json!({"content_type": content_type}),
            ),
        );
        let line = &lines(&out)[0];
        assert_eq!(line["image"], "quadrants.png");
        let segments = line["segments"].as_array().unwrap();
        assert_eq!(segments.len(), 4, "{line}");
        // Which quadrant each segment is, from its bounding box.
        let quadrant: Vec<usize> = segments
            .iter()
            .map(|s| {
                let b = number_list(&s["bbox"]);
                assert_eq!(
                    (b[2] - b[0], b[3] - b[1], s["pixels"].as_u64()),
                    (32.0, 32.0, Some(1024))
                );
                usize::from(b[1] >= 32.0) * 2 + usize::from(b[0] >= 32.0)
            })
            .collect();
        let quadrant = &quadrant;
        let value = |label: usize| {
            move |shown: &[bool]| {
                let mut mean = [0.0; 3];
                for (s, &q) in quadrant.iter().enumerate() {
                    let colour = if shown[s] { QUADRANTS[q] } else { grey };
                    for c in 0..3 {
                        mean[c] += f64::from(colour[c]) / 4.0;
                    }
                }
                classifier(mean)[label]
            }
        };
        let explanations = line["explanations"].as_array().unwrap();
        assert_eq!(explanations.len(), 3);
        for (label, explained) in explanations.iter().enumerate() {
            let exact = brute_force(4, value(label));
            let ours = number_list(&explained["attributions"]);
            for (a, b) in ours.iter().zip(&exact) {
                assert!(
                    (a - b).abs() < 1e-9,
                    "{content_type} label {label}: {ours:?} vs {exact:?}"
                );
            }
            let prediction = explained["prediction"].as_f64().unwrap();
            assert!((prediction - value(label)(&[true; 4])).abs() < 1e-12);
            let expected = explained["expected_value"].as_f64().unwrap();
            assert!((expected - value(label)(&[false; 4])).abs() < 1e-12);
        }
        // Heat maps for the three labels, the image's size, named by label.
        let analysis = read_json(&out.join("analysis.json"));
        let block = &analysis["explanations"]["image_shap"];
        assert_eq!(block["model_type"], "IMAGE_CLASSIFICATION");
        assert_eq!(block["num_images"], 1);
        let maps = block["images"][0]["heat_maps"].as_array().unwrap();
        assert_eq!(maps.len(), 3);
        for label in ["red", "green", "blue"] {
            let file = out.join(format!("shap_quadrants_{label}.jpeg"));
            assert_eq!(image::open(&file).unwrap().to_rgb8().dimensions(), (64, 64));
        }
        assert!(out.join("report.html").is_file());
    }
}

#[test]
fn a_folder_of_photos_is_explained_with_white_noise_and_jpeg_requests() {
    let model = DemoModel::start(&["--vision", "classifier"]);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("images");
    std::fs::create_dir_all(data.join("more")).unwrap();
    let gradient = |w: u32, h: u32, shift: u32| {
        RgbImage::from_fn(w, h, |x, y| {
            Rgb([
                (x * 255 / w) as u8,
                (y * 255 / h) as u8,
                ((x + y + shift) % 256) as u8,
            ])
        })
    };
    gradient(48, 40, 0).save(data.join("a.jpg")).unwrap();
    gradient(30, 50, 90).save(data.join("b.png")).unwrap();
    gradient(40, 40, 200)
        .save(data.join("more/c.jpeg"))
        .unwrap();
    std::fs::write(data.join("notes.txt"), "not an image").unwrap();
    let out = run(
        dir.path(),
        &model,
        &data,
        config(
            json!({"model_type": "IMAGE_CLASSIFICATION", "num_segments": 8}),
            json!({}),
            json!({"content_type": "image/jpeg"}),
        ),
    );
    let lines = lines(&out);
    let names: Vec<&str> = lines.iter().map(|l| l["image"].as_str().unwrap()).collect();
    assert_eq!(names, ["a.jpg", "b.png", "more/c.jpeg"]);
    for line in &lines {
        for explained in line["explanations"].as_array().unwrap() {
            // Additivity: the values add up to the prediction minus the expected value.
            let total: f64 = number_list(&explained["attributions"]).iter().sum();
            let gap = explained["prediction"].as_f64().unwrap()
                - explained["expected_value"].as_f64().unwrap();
            assert!((total - gap).abs() < 1e-9, "{total} vs {gap}");
        }
    }
    assert!(out.join("more/shap_c_red.jpeg").is_file());
    assert!(out.join("shap_b_blue.jpeg").is_file());
}

/// 4 × 4 tiles of 16 pixels; in the top-left quadrant, tiles A (0, 0) and
/// B (1, 0) are bright green (one object, the box of both), and the
/// bottom-right tile is bright pink (a second, fainter object). The other
/// tiles are dark and all different.
fn detection_image() -> RgbImage {
    let mut colours: Vec<[u8; 3]> = (0..16u8).map(|i| [10 + 4 * i, 40 - 2 * i, 5 + i]).collect();
    colours[0] = A;
    colours[1] = B;
    colours[15] = [250, 120, 120];
    tiled(4, 16, &colours)
}

const A: [u8; 3] = [120, 255, 120];
const B: [u8; 3] = [0, 240, 0];

fn luma(c: [u8; 3]) -> f64 {
    (0.299 * f64::from(c[0]) + 0.587 * f64::from(c[1]) + 0.114 * f64::from(c[2])) / 255.0
}

fn detect(dir: &Path, model: &DemoModel, image_config: Json) -> PathBuf {
    let data = dir.join("images");
    std::fs::create_dir_all(&data).unwrap();
    detection_image().save(data.join("064.tiles.png")).unwrap();
    RgbImage::new(4, 4).save(dir.join("black.png")).unwrap();
    let mut c = config(image_config, json!({"baseline": "black.png"}), json!({}));
    c["probability_threshold"] = json!(0.5);
    run(dir, model, &data, c)
}

#[test]
fn detection_explains_the_top_objects_inside_their_boxes_with_the_iou_rule() {
    let model = DemoModel::start(&["--vision", "detector"]);
    let (a, b) = (luma(A), luma(B));
    // Context 0: only A and B are players. With both shown the box is A+B
    // scored (a + b) / 2; with one, the box is that tile (IoU 0.5 with A+B).
    for (iou, want_a, want_b) in [
        (0.5, (3.0 * a - b) / 4.0, (3.0 * b - a) / 4.0),
        (0.6, (a + b) / 4.0, (a + b) / 4.0),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = detect(
            dir.path(),
            &model,
            json!({"model_type": "OBJECT_DETECTION", "num_segments": 16, "context": 0,
                   "iou_threshold": iou, "max_objects": 1}),
        );
        let line = &lines(&out)[0];
        let objects = line["explanations"].as_array().unwrap();
        assert_eq!(objects.len(), 1, "max_objects 1: {line}");
        let object = &objects[0];
        assert_eq!(
            (object["box"].as_u64(), object["label"].as_str()),
            (Some(1), Some("green"))
        );
        assert_eq!(number_list(&object["bbox"]), [0.0, 0.0, 0.5, 0.25]);
        let values = number_list(&object["attributions"]);
        for (s, segment) in line["segments"].as_array().unwrap().iter().enumerate() {
            let bbox = number_list(&segment["bbox"]);
            let want = match (bbox[0], bbox[1]) {
                (0.0, 0.0) => want_a,
                (16.0, 0.0) => want_b,
                _ => 0.0,
            };
            assert!(
                (values[s] - want).abs() < 1e-9,
                "iou {iou}, segment {s} at {bbox:?}: {} vs {want}",
                values[s]
            );
        }
        assert!(out.join("064.tiles_objects.jpeg").is_file());
        assert!(out.join("shap_064.tiles_box1_object.jpeg").is_file());
        assert!(!out.join("shap_064.tiles_box2_object.jpeg").exists());
    }
    // Three objects allowed, full context: both objects, highest score first.
    let dir = tempfile::tempdir().unwrap();
    let out = detect(
        dir.path(),
        &model,
        json!({"model_type": "OBJECT_DETECTION", "num_segments": 16, "max_objects": 3}),
    );
    let objects = lines(&out)[0]["explanations"].as_array().unwrap().clone();
    let labels: Vec<&str> = objects
        .iter()
        .map(|o| o["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["green", "red"]);
    assert!(out.join("shap_064.tiles_box2_object.jpeg").is_file());
    let block = &read_json(&out.join("analysis.json"))["explanations"]["image_shap"];
    assert_eq!(
        block["images"][0]["objects_image"],
        "064.tiles_objects.jpeg"
    );
}

#[test]
fn an_image_job_without_label_headers_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("images");
    std::fs::create_dir(&data).unwrap();
    tiled(2, 8, &QUADRANTS).save(data.join("q.png")).unwrap();
    let mut c = config(
        json!({"model_type": "IMAGE_CLASSIFICATION"}),
        json!({}),
        json!({}),
    );
    c["predictor"]
        .as_object_mut()
        .unwrap()
        .remove("label_headers");
    let config_path = dir.path().join("analysis_config.json");
    std::fs::write(&config_path, c.to_string()).unwrap();
    let out = dir.path().join("output");
    let result = run_job_with(
        &config_path,
        &data,
        &out,
        &["--endpoint-url", "http://127.0.0.1:1"],
    );
    assert!(!result.status.success());
    let message = std::fs::read_to_string(dir.path().join("message")).unwrap();
    assert!(message.contains("predictor.label_headers"), "{message}");
}

#[test]
fn shards_of_images_merged_in_any_order_write_what_run_writes() {
    let model = DemoModel::start(&["--vision", "classifier"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let names = ["a.png", "b.png", "c.png", "d.png", "e.png"];
    for (i, name) in names.iter().enumerate() {
        let image = RgbImage::from_fn(32, 24, |x, y| {
            Rgb([(x * 8) as u8, (y * 10) as u8, (40 * i) as u8])
        });
        for folder in ["images", if i % 2 == 0 { "shard1" } else { "shard2" }] {
            std::fs::create_dir_all(d.join(folder)).unwrap();
            image.save(d.join(folder).join(name)).unwrap();
        }
    }
    let whole = run(
        d,
        &model,
        &d.join("images"),
        config(
            json!({"model_type": "IMAGE_CLASSIFICATION", "num_segments": 6}),
            json!({}),
            json!({}),
        ),
    );
    let config_path = d.join("analysis_config.json");
    let plan = d.join("plan.bin");
    plan_job(&config_path, &d.join("images"), &plan);
    let mut states = Vec::new();
    for shard in ["shard2", "shard1"] {
        let state = d.join(format!("{shard}.state"));
        let endpoint = ["--endpoint-url", model.url.as_str()];
        partial_state(&config_path, &plan, &d.join(shard), &state, &endpoint);
        states.push(state);
    }
    let merged = d.join("merged");
    merge_states(&config_path, &plan, &states, &merged);
    let read = |out: &Path, file: &str| std::fs::read(out.join(file)).unwrap();
    assert_eq!(
        read(&merged, "explanations_shap/out.jsonl"),
        read(&whole, "explanations_shap/out.jsonl")
    );
    for name in names {
        let stem = name.trim_end_matches(".png");
        for label in ["red", "green", "blue"] {
            let file = format!("shap_{stem}_{label}.jpeg");
            assert_eq!(read(&merged, &file), read(&whole, &file), "{file}");
        }
    }
}
