//! Running `methods.shap.image_config` against the model, in the three
//! steps every analysis has ([`crate::job`]):
//!
//! - [`read`] lists the images of the dataset (or of a shard): names only,
//!   no pixels;
//! - [`plan`] fixes their order from the whole dataset, so that an image has
//!   the same index (and so the same coalitions) in any shard;
//! - [`partial`] explains the images of a shard, a few at a time
//!   ([`IMAGES_IN_FLIGHT`]): each is decoded, segmented, its masked images
//!   are sent to the model in calls of bounded size, and only its values
//!   stay in the state ([`ExplainedImage`]), never its pixels;
//! - [`finish`] writes, in dataset order, the heat maps (reading each image
//!   again), `explanations_shap/out.jsonl` and the `explanations` block of
//!   `analysis.json`.

use super::detection::{self, Detection};
use super::heatmap::{draw_box, heat_map};
use super::masking::{Masker, Window};
use super::picture::{self, Baseline, RequestFormat};
use super::shapley::SegmentGame;
use super::slic::{slic, Segments};
use crate::config::{AnalysisConfig, ImageConfig, ImageModelType, ShapConfig};
use crate::dataset::files;
use crate::error::{JobError, Result};
use crate::explain::KernelShapSettings;
use crate::predictor::{ModelAccess, Predictor};
use futures_util::{StreamExt, TryStreamExt};
use image::RgbImage;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Images explained at once: each holds its pixels and its masked images'
/// encodings, so this bounds the job's memory.
pub const IMAGES_IN_FLIGHT: usize = 4;

/// Bytes of masked images in one model call at most; an image whose
/// coalitions need more is sent in several calls.
const CALL_BYTES: usize = 64 << 20;

/// Classification: heat maps are drawn for this many labels, the highest
/// predicted first (every label's values are in `out.jsonl`).
pub const TOP_LABELS: usize = 3;

/// The key of the image block under `explanations` in `analysis.json`.
pub const SECTION: &str = "image_shap";

/// The images of a dataset or shard.
#[derive(Debug, Clone)]
pub struct Images {
    /// The folder (or file) they were listed under.
    pub root: PathBuf,
    /// Their paths relative to `root`, in path order.
    pub names: Vec<String>,
}

/// Lists the JPEG and PNG files at `path` (or at `dataset_uri`, which
/// overrides it). Other files are skipped with a warning.
pub fn read(config: &AnalysisConfig, path: &Path) -> Result<Images> {
    let root = match &config.dataset_uri {
        Some(uri) => files::resolve_uri("dataset_uri", uri, &files::input_root(path))?,
        None => path.to_path_buf(),
    };
    let (found, skipped): (Vec<PathBuf>, Vec<PathBuf>) = files::list(&root)?
        .into_iter()
        .partition(|p| picture::is_image_file(p));
    if let Some(first) = skipped.first() {
        tracing::warn!(
            "{} file(s) under {} are not JPEG or PNG images and are skipped (e.g. {})",
            skipped.len(),
            root.display(),
            first.display()
        );
    }
    if found.is_empty() {
        return Err(JobError::client(format!(
            "No images found under {}; dataset_type application/x-image reads *.jpg, *.jpeg and *.png files.",
            root.display()
        )));
    }
    let names = found
        .iter()
        .map(|p| {
            let relative = p
                .strip_prefix(&root)
                .ok()
                .filter(|r| !r.as_os_str().is_empty());
            let name = relative
                .or_else(|| p.file_name().map(Path::new))
                .unwrap_or(p);
            name.to_string_lossy().into_owned()
        })
        .collect();
    tracing::info!(images = found.len(), "image dataset listed");
    Ok(Images { root, names })
}

/// What image explanations fix before any shard is read: every image's
/// name in dataset order, and where the dataset is (finish reads the
/// images again to draw their heat maps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImagePlan {
    /// The dataset folder.
    pub root: PathBuf,
    /// Image paths relative to it, in order.
    pub names: Vec<String>,
}

/// The image order of the whole dataset.
pub fn plan(images: &Images) -> ImagePlan {
    ImagePlan {
        root: images.root.clone(),
        names: images.names.clone(),
    }
}

/// The explained images of a shard (or of the whole dataset), in any order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageState {
    /// One per image.
    pub explained: Vec<ExplainedImage>,
}

impl ImageState {
    /// Adds another shard's images.
    pub fn merge(mut self, other: ImageState) -> ImageState {
        self.explained.extend(other.explained);
        self
    }
}

/// One image's explanation: its segments, and one explained target per
/// label (classification) or per object (detection).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainedImage {
    /// The image's place in the whole dataset.
    pub index: u64,
    /// Its path relative to the dataset folder.
    pub name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Each segment's size and place, by segment id.
    pub segments: Vec<SegmentSummary>,
    /// The explained labels or objects.
    pub targets: Vec<Target>,
    /// Images sent to the model for it.
    pub model_records: u64,
}

/// A segment's size and bounding box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentSummary {
    /// Pixels in the segment.
    pub pixels: u64,
    /// `[x0, y0, x1, y1]` in pixels, the end exclusive.
    pub bbox: [u32; 4],
}

/// One explained output of an image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// The class name (from `label_headers`).
    pub label: String,
    /// Detection: the object (class, score and box in the original image).
    pub object: Option<Detection>,
    /// The output with every segment shown.
    pub prediction: f64,
    /// The output with no segment shown (after the link).
    pub expected: f64,
    /// SHAP value per segment.
    pub values: Vec<f64>,
    /// Standard error of each value (0 when every coalition was evaluated).
    pub stderr: Vec<f64>,
}

/// The SHAP and image settings of a config that has them (validated
/// before any run).
fn image_config(config: &AnalysisConfig) -> Result<(&ShapConfig, &ImageConfig, ImageModelType)> {
    let shap = config.methods.shap.as_ref();
    shap.and_then(|s| {
        let image = s.image_config.as_ref()?;
        Some((s, image, image.model_type()?))
    })
        .ok_or_else(|| {
            JobError::client(
                "methods.shap.image_config.model_type: an image job needs IMAGE_CLASSIFICATION or OBJECT_DETECTION.",
            )
        })
}

/// The class names, in score (classification) or class-id (detection) order.
fn label_headers(config: &AnalysisConfig) -> Vec<String> {
    config
        .predictor
        .as_ref()
        .and_then(|p| p.label_headers.as_ref())
        .map(|h| h.iter().map(|v| v.py_str()).collect())
        .unwrap_or_default()
}

/// What every image of a shard is explained with.
struct Context<'a> {
    image: &'a ImageConfig,
    model_type: ImageModelType,
    labels: Vec<String>,
    settings: KernelShapSettings,
    baseline: Baseline,
    format: RequestFormat,
    probability_threshold: f64,
    predictor: &'a Predictor,
}

/// The baseline of absent segments: `methods.shap.baseline` (an image
/// path, relative to the processing input, or S3 URI), else white noise.
fn baseline(config: &AnalysisConfig, data: &Path) -> Result<Baseline> {
    let shap = config.methods.shap.as_ref();
    let seed = shap.and_then(|s| s.seed).unwrap_or(0);
    match shap.and_then(|s| s.baseline.as_ref()) {
        None => Ok(Baseline::Noise { seed }),
        Some(Json::String(uri)) => {
            let path = files::resolve_uri("methods.shap.baseline", uri, &files::input_root(data))?;
            Ok(Baseline::Image(picture::read(&path)?))
        }
        Some(other) => Err(JobError::client(format!(
            "methods.shap.baseline: an image job takes the path or S3 URI of one image, not {}; remove it to mask with white noise.",
            crate::http::snippet(&other.to_string())
        ))),
    }
}

/// Explains the images of a shard.
pub fn partial(
    config: &AnalysisConfig,
    plan: &ImagePlan,
    shard: &Images,
    access: &ModelAccess,
) -> Result<ImageState> {
    let (shap, image, model_type) = image_config(config)?;
    let positions: HashMap<&str, u64> = plan
        .names
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i as u64))
        .collect();
    let mut work = Vec::with_capacity(shard.names.len());
    for name in &shard.names {
        let index = *positions.get(name.as_str()).ok_or_else(|| {
            JobError::client(format!(
                "The image {name} of the shard {} is not in the dataset the plan was made from; plan and shards must come from the same images.",
                shard.root.display()
            ))
        })?;
        work.push((index, name.as_str(), image_path(&shard.root, name)));
    }
    let predictor = Predictor::new(config, access, Vec::new())?;
    let content_type = config.wire_types().map(|(content, _)| content);
    let format = content_type
        .as_ref()
        .and_then(|c| RequestFormat::of(c.as_str()))
        .ok_or_else(|| {
            JobError::client(format!(
                "predictor.content_type: {:?} cannot carry an image; use image/jpeg, image/png or application/x-npy.",
                content_type.as_ref().map_or("", |c| c.as_str())
            ))
        })?;
    let context = Context {
        image,
        model_type,
        labels: label_headers(config),
        settings: KernelShapSettings::from_config(shap),
        baseline: baseline(config, &shard.root)?,
        format,
        probability_threshold: config.probability_threshold.unwrap_or(0.0),
        predictor: &predictor,
    };
    let runtime = crate::predictor::runtime()?;
    let _progress =
        crate::progress::Reporter::start(predictor.counters(), "image explanations", None);
    let explained = futures_util::stream::iter(work)
        .map(|(index, name, path)| {
            let context = &context;
            async move { context.explain(index, name, &path).await }
        })
        .buffered(IMAGES_IN_FLIGHT);
    let mut state = ImageState::default();
    runtime.block_on(explained.try_for_each(|image| {
        state.explained.push(image);
        std::future::ready(Ok(()))
    }))?;
    tracing::info!(
        images = state.explained.len(),
        requests = predictor.requests_sent(),
        "image explanations done"
    );
    Ok(state)
}

/// The file of image `name` under `root` (a file root is the image itself).
pub fn image_path(root: &Path, name: &str) -> PathBuf {
    match root.is_file() {
        true => root.to_path_buf(),
        false => root.join(name),
    }
}

/// One game of an image: the segments it shows through which window,
/// and which objects' scores it explains (all, for classification).
struct Game {
    window: Option<Window>,
    objects: Vec<usize>,
    game: SegmentGame,
}

impl Context<'_> {
    /// Explains one image.
    async fn explain(&self, index: u64, name: &str, path: &Path) -> Result<ExplainedImage> {
        let image = picture::read(path)?;
        let (width, height) = image.dimensions();
        let segments = slic(
            image.as_raw(),
            width as usize,
            height as usize,
            self.image.num_segments(),
            self.image.compactness(),
        );
        let baseline = self.baseline.for_size(width, height);
        let masker = Masker {
            image: &image,
            baseline: &baseline,
            segments: &segments,
        };
        let (objects, games, mut records) = match self.model_type {
            ImageModelType::Classification => {
                let game = SegmentGame::new(vec![true; segments.count], &self.settings, index);
                let all = Game {
                    window: None,
                    objects: Vec::new(),
                    game,
                };
                (Vec::new(), vec![all], 0)
            }
            ImageModelType::Detection => {
                let original = self.format.encode(&image)?;
                let answer = self.call(index, name, vec![original]).await?;
                let found = detection::parse(answer[0].score.as_ref().unwrap_or(&Json::Null))
                    .map_err(|why| self.bad_answer(name, &why))?;
                let objects = detection::top_objects(
                    found,
                    self.probability_threshold,
                    self.image.max_objects(),
                );
                let games = self.object_games(&objects, &masker, index);
                (objects, games, 1)
            }
        };
        let mut targets = self.empty_targets(&objects);
        for game in &games {
            let masks = game.game.masks();
            records += masks.len() as u64;
            let values = self
                .values(index, name, &masker, &masks, game, &objects)
                .await?;
            let solved = game.game.solve(&values);
            let explained: Vec<usize> = match self.model_type {
                ImageModelType::Classification => (0..self.labels.len()).collect(),
                ImageModelType::Detection => game.objects.clone(),
            };
            for (k, t) in explained.into_iter().enumerate() {
                let target = &mut targets[t];
                target.prediction = solved.prediction[k];
                target.expected = solved.expected[k];
                target.values = solved.explanation.values[k].clone();
                target.stderr = solved.explanation.stderr[k].clone();
            }
        }
        Ok(ExplainedImage {
            index,
            name: name.to_string(),
            width,
            height,
            segments: summaries(&segments),
            targets,
            model_records: records,
        })
    }

    /// The targets before their values: every label, or every object.
    fn empty_targets(&self, objects: &[Detection]) -> Vec<Target> {
        let target = |label: String, object: Option<Detection>| Target {
            label,
            object,
            prediction: 0.0,
            expected: 0.0,
            values: Vec::new(),
            stderr: Vec::new(),
        };
        match self.model_type {
            ImageModelType::Classification => self
                .labels
                .iter()
                .map(|l| target(l.clone(), None))
                .collect(),
            ImageModelType::Detection => objects
                .iter()
                .map(|o| target(self.class_name(o.class), Some(*o)))
                .collect(),
        }
    }

    /// The class name of a detector's class id.
    fn class_name(&self, class: f64) -> String {
        let named = (class >= 0.0 && class.fract() == 0.0)
            .then(|| self.labels.get(class as usize))
            .flatten();
        named.cloned().unwrap_or_else(|| crate::pyfmt::float(class))
    }

    /// The games of a detection: with full context one game explains every
    /// object (they see the same images); with less, each object is its own
    /// game over the segments inside its window.
    fn object_games(&self, objects: &[Detection], masker: &Masker, index: u64) -> Vec<Game> {
        let context = self.image.context();
        if objects.is_empty() {
            return Vec::new();
        }
        if context >= 1.0 {
            let players = masker.segments_in(None);
            return vec![Game {
                window: None,
                objects: (0..objects.len()).collect(),
                game: SegmentGame::new(players, &self.settings, index),
            }];
        }
        let (width, height) = masker.image.dimensions();
        objects
            .iter()
            .enumerate()
            .map(|(k, object)| {
                let window = Window::around(&object.bbox, context, width, height);
                let players = masker.segments_in(Some(&window));
                Game {
                    window: Some(window),
                    objects: vec![k],
                    game: SegmentGame::new(players, &self.settings, index),
                }
            })
            .collect()
    }

    /// The game's value vector for each mask: the class scores, or the
    /// scores of its objects, sent in calls of at most [`CALL_BYTES`].
    async fn values(
        &self,
        index: u64,
        name: &str,
        masker: &Masker<'_>,
        masks: &[Vec<bool>],
        game: &Game,
        objects: &[Detection],
    ) -> Result<Vec<Vec<f64>>> {
        let (width, height) = masker.image.dimensions();
        let per_call = (CALL_BYTES / self.format.record_bytes(width, height).max(1)).max(1);
        let mut values = Vec::with_capacity(masks.len());
        for chunk in masks.chunks(per_call) {
            let encoded = chunk
                .iter()
                .map(|keep| {
                    self.format
                        .encode(&masker.compose(keep, game.window.as_ref()))
                })
                .collect::<Result<Vec<_>>>()?;
            for output in self.call(index, name, encoded).await? {
                let value = match self.model_type {
                    ImageModelType::Classification => self.class_scores(name, &output)?,
                    ImageModelType::Detection => {
                        let found = detection::parse(output.score.as_ref().unwrap_or(&Json::Null))
                            .map_err(|why| self.bad_answer(name, &why))?;
                        game.objects
                            .iter()
                            .map(|&k| {
                                detection::object_score(
                                    &objects[k],
                                    &found,
                                    self.image.iou_threshold(),
                                )
                            })
                            .collect()
                    }
                };
                values.push(value);
            }
        }
        Ok(values)
    }

    /// One record's class scores, one per label header.
    fn class_scores(
        &self,
        name: &str,
        output: &crate::predictor::response::ModelOutput,
    ) -> Result<Vec<f64>> {
        let scores =
            crate::predictor::outputs::scores(output).map_err(|why| self.bad_answer(name, &why))?;
        if scores.len() != self.labels.len() {
            return Err(JobError::client(format!(
                "The model gave {} scores for the image {name}, but predictor.label_headers names {} classes; give one name per score, in the model's order.",
                scores.len(),
                self.labels.len()
            )));
        }
        Ok(scores)
    }

    /// Sends encoded images to the model; outputs come back in order.
    async fn call(
        &self,
        index: u64,
        name: &str,
        encoded: Vec<Vec<u8>>,
    ) -> Result<Vec<crate::predictor::response::ModelOutput>> {
        self.predictor
            .predict_encoded(index, &encoded)
            .await
            .map_err(|e| JobError {
                message: format!("{} (image {name})", e.message),
                ..e
            })
    }

    /// An answer about image `name` that cannot be read.
    fn bad_answer(&self, name: &str, why: &str) -> JobError {
        let key = match self.model_type {
            ImageModelType::Classification => "predictor.probability",
            ImageModelType::Detection => "predictor.probability (a JMESPath to the detections)",
        };
        JobError::client(format!(
            "The model's answer for the image {name} cannot be read: {why}; check {key}."
        ))
    }
}

/// Each segment's pixel count and bounding box.
fn summaries(segments: &Segments) -> Vec<SegmentSummary> {
    let mut out = vec![
        SegmentSummary {
            pixels: 0,
            bbox: [u32::MAX, u32::MAX, 0, 0],
        };
        segments.count
    ];
    for (i, &label) in segments.labels.iter().enumerate() {
        let (x, y) = ((i % segments.width) as u32, (i / segments.width) as u32);
        let s = &mut out[label as usize];
        s.pixels += 1;
        s.bbox = [
            s.bbox[0].min(x),
            s.bbox[1].min(y),
            s.bbox[2].max(x + 1),
            s.bbox[3].max(y + 1),
        ];
    }
    out
}

/// Writes the heat maps and `explanations_shap/out.jsonl` from the merged
/// state, in dataset order, and returns the `explanations` block of
/// `analysis.json` and the number of images.
pub fn finish(
    config: &AnalysisConfig,
    plan: &ImagePlan,
    state: &mut ImageState,
    output: &Path,
) -> Result<(Json, u64)> {
    let (shap, settings, model_type) = image_config(config)?;
    state.explained.sort_by_key(|e| e.index);
    let mut lines = String::new();
    let mut listed = Vec::with_capacity(state.explained.len());
    for explained in &state.explained {
        let files = write_heat_maps(settings, model_type, plan, explained, output)?;
        lines.push_str(&line(explained, &files).to_string());
        lines.push('\n');
        listed.push(files.entry(explained));
    }
    let results = output.join(crate::layout::LOCAL_SHAP_IMAGE_FILE);
    if let Some(folder) = results.parent() {
        std::fs::create_dir_all(folder)
            .map_err(|e| JobError::client(format!("Cannot create {}: {e}", folder.display())))?;
    }
    crate::layout::write_atomic(&results, lines.as_bytes())?;
    let block = json!({ SECTION: {
        "model_type": model_type.as_str(),
        "num_segments": settings.num_segments(),
        "segment_compactness": settings.compactness(),
        "num_samples": shap.num_samples,
        "baseline": shap.baseline.clone().unwrap_or_else(|| "white noise".into()),
        "label_headers": label_headers(config),
        "num_images": state.explained.len(),
        "model_records": state.explained.iter().map(|e| e.model_records).sum::<u64>(),
        "explanation_results_path": results.display().to_string(),
        "images": listed,
    }});
    Ok((block, state.explained.len() as u64))
}

/// The files written for one image, relative to the output folder.
struct HeatMaps {
    /// Detection: the image with the objects' boxes.
    objects: Option<String>,
    /// One per target (`None` for a label without a heat map).
    per_target: Vec<Option<String>>,
}

impl HeatMaps {
    /// The image's entry in `analysis.json`: its files, for people and the report.
    fn entry(&self, explained: &ExplainedImage) -> Json {
        let maps: Vec<Json> = explained
            .targets
            .iter()
            .zip(&self.per_target)
            .filter_map(|(t, file)| {
                let file = file.as_ref()?;
                Some(json!({"label": t.label, "prediction": t.prediction, "file": file}))
            })
            .collect();
        let mut entry = json!({"image": explained.name});
        if let Some(objects) = &self.objects {
            entry["objects_image"] = json!(objects);
        }
        entry["heat_maps"] = Json::Array(maps);
        entry
    }
}

/// The file stem and folder of an image's outputs: beside where the image
/// sits in the dataset, under the output folder.
fn output_stem(name: &str) -> (PathBuf, String) {
    let path = Path::new(name);
    let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let stem = path
        .file_stem()
        .map_or_else(|| name.to_string(), |s| s.to_string_lossy().into_owned());
    (folder, stem)
}

/// A class name as it may appear in a file name.
fn file_safe(label: &str) -> String {
    label
        .chars()
        .map(|c| match c.is_alphanumeric() || "-_.".contains(c) {
            true => c,
            false => '_',
        })
        .collect()
}

/// Reads the image again, segments it as `partial` did, and writes its
/// heat maps: classification `shap_<stem>_<label>.jpeg` for the
/// [`TOP_LABELS`] highest predicted labels; detection `<stem>_objects.jpeg`
/// and `shap_<stem>_box<k>_object.jpeg` per object.
fn write_heat_maps(
    settings: &ImageConfig,
    model_type: ImageModelType,
    plan: &ImagePlan,
    explained: &ExplainedImage,
    output: &Path,
) -> Result<HeatMaps> {
    let image = picture::read(&image_path(&plan.root, &explained.name))?;
    let segments = slic(
        image.as_raw(),
        image.width() as usize,
        image.height() as usize,
        settings.num_segments(),
        settings.compactness(),
    );
    if segments.count != explained.segments.len()
        || image.dimensions() != (explained.width, explained.height)
    {
        return Err(JobError::client(format!(
            "The image {} changed after it was explained ({} segments now, {} then); explain it again.",
            explained.name,
            segments.count,
            explained.segments.len()
        )));
    }
    let (folder, stem) = output_stem(&explained.name);
    let write = |file: String, pixels: &RgbImage| -> Result<String> {
        let relative = folder.join(&file);
        let path = output.join(&relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                JobError::client(format!("Cannot create {}: {e}", parent.display()))
            })?;
        }
        crate::layout::write_atomic(&path, &picture::jpeg(pixels, picture::OUTPUT_JPEG_QUALITY)?)?;
        Ok(relative.to_string_lossy().into_owned())
    };
    let mut per_target = vec![None; explained.targets.len()];
    match model_type {
        ImageModelType::Classification => {
            let mut ranked: Vec<usize> = (0..explained.targets.len()).collect();
            ranked.sort_by(|&a, &b| {
                explained.targets[b]
                    .prediction
                    .total_cmp(&explained.targets[a].prediction)
            });
            for &t in ranked.iter().take(TOP_LABELS) {
                let target = &explained.targets[t];
                let file = format!("shap_{stem}_{}.jpeg", file_safe(&target.label));
                per_target[t] = Some(write(file, &heat_map(&image, &segments, &target.values))?);
            }
            Ok(HeatMaps {
                objects: None,
                per_target,
            })
        }
        ImageModelType::Detection => {
            let mut boxes = image.clone();
            for (k, target) in explained.targets.iter().enumerate() {
                let object = target.object.as_ref().map_or([0.0; 4], |o| o.bbox);
                draw_box(&mut boxes, &object, k);
                let mut map = heat_map(&image, &segments, &target.values);
                draw_box(&mut map, &object, k);
                per_target[k] = Some(write(
                    format!("shap_{stem}_box{}_object.jpeg", k + 1),
                    &map,
                )?);
            }
            let objects = Some(write(format!("{stem}_objects.jpeg"), &boxes)?);
            Ok(HeatMaps {
                objects,
                per_target,
            })
        }
    }
}

/// One line of `out.jsonl`: the image, its segments, and per label or
/// object its prediction, expected value, heat map and values by segment.
fn line(explained: &ExplainedImage, files: &HeatMaps) -> Json {
    let segments: Vec<Json> = explained
        .segments
        .iter()
        .enumerate()
        .map(|(id, s)| json!({"id": id, "pixels": s.pixels, "bbox": s.bbox}))
        .collect();
    let targets: Vec<Json> = explained
        .targets
        .iter()
        .zip(&files.per_target)
        .enumerate()
        .map(|(k, (t, file))| {
            let mut entry = json!({});
            if let Some(object) = &t.object {
                entry["box"] = json!(k + 1);
                entry["class_id"] = json!(object.class);
                entry["bbox"] = json!(object.bbox);
            }
            entry["label"] = json!(t.label);
            entry["prediction"] = json!(t.prediction);
            entry["expected_value"] = json!(t.expected);
            entry["heat_map"] = json!(file);
            entry["attributions"] = json!(t.values);
            entry["stderr"] = json!(t.stderr);
            entry
        })
        .collect();
    let mut line = json!({
        "image": explained.name,
        "width": explained.width,
        "height": explained.height,
        "segments": segments,
    });
    if let Some(objects) = &files.objects {
        line["objects_image"] = json!(objects);
    }
    line["explanations"] = Json::Array(targets);
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn explained(index: u64) -> ExplainedImage {
        ExplainedImage {
            index,
            name: format!("img{index}.png"),
            width: 4,
            height: 4,
            segments: vec![SegmentSummary {
                pixels: 16,
                bbox: [0, 0, 4, 4],
            }],
            targets: vec![Target {
                label: "a".into(),
                object: None,
                prediction: index as f64,
                expected: 0.5,
                values: vec![index as f64 - 0.5],
                stderr: vec![0.0],
            }],
            model_records: 3,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Images split into shards anywhere and merged in any order and
        /// grouping give the same images in dataset order as one state.
        #[test]
        fn any_split_merged_in_any_order_gives_the_same_state(
            images in 1u64..30,
            shard_of in prop::collection::vec(0usize..4, 30),
            reversed in any::<bool>(),
        ) {
            let whole = ImageState { explained: (0..images).map(explained).collect() };
            let mut shards = vec![ImageState::default(); 4];
            for index in (0..images).rev() {
                shards[shard_of[index as usize]].explained.push(explained(index));
            }
            if reversed {
                shards.reverse();
            }
            let (left, right) = shards.split_at(2);
            let fold = |s: &[ImageState]| s.iter().cloned().fold(ImageState::default(), ImageState::merge);
            let mut merged = fold(right).merge(fold(left));
            merged.explained.sort_by_key(|e| e.index);
            prop_assert_eq!(merged, whole);
        }
    }

    #[test]
    fn segment_summaries_count_pixels_and_bound_them() {
        let segments = Segments {
            width: 3,
            height: 2,
            labels: vec![0, 0, 1, 0, 1, 1],
            count: 2,
        };
        let s = summaries(&segments);
        assert_eq!((s[0].pixels, s[0].bbox), (3, [0, 0, 2, 2]));
        assert_eq!((s[1].pixels, s[1].bbox), (3, [1, 0, 3, 2]));
    }

    #[test]
    fn outputs_sit_beside_the_image_with_safe_names() {
        assert_eq!(
            output_stem("cats/tom.jpg"),
            (PathBuf::from("cats"), "tom".to_string())
        );
        assert_eq!(
            output_stem("064.elephant-101_064_0003.jpg").1,
            "064.elephant-101_064_0003"
        );
        assert_eq!(file_safe("sea lion/seal"), "sea_lion_seal");
    }
}
