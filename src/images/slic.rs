//! SLIC superpixels as scikit-image's `slic` computes them (the
//! segmentation Clarify documents for images): the image is rescaled to
//! [0, 1], converted to CIE Lab, and clustered by k-means in (Lab, y, x)
//! from centres on a regular grid, each centre looking only at a window of
//! twice the grid step around it; then segments are made connected, small
//! pieces joining a neighbour.
//!
//! Every step follows `skimage/segmentation/slic_superpixels.py` and
//! `_slic.pyx` (scikit-image 0.25) with its defaults: `max_num_iter` 10, no
//! smoothing (`sigma` 0), `enforce_connectivity`, `min_size_factor` 0.5,
//! `max_size_factor` 3, labels from 1. Ties go to the lower segment, as
//! there; `tests/fixtures/slic/` holds scikit-image's own maps, which
//! `slic_matches_scikit_image` compares with these.

/// k-means iterations at most (scikit-image's `max_num_iter` default).
const MAX_ITERATIONS: usize = 10;

/// A piece smaller than this share of the mean segment size joins a
/// neighbour (`min_size_factor`).
const MIN_SIZE_FACTOR: f64 = 0.5;

/// The breadth-first search of a piece stops at this multiple of the mean
/// segment size (`max_size_factor`).
const MAX_SIZE_FACTOR: f64 = 3.0;

/// Which segment each pixel belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segments {
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Row-major, one per pixel: the segment, from 0.
    pub labels: Vec<u32>,
    /// How many segments there are (labels are `0..count`).
    pub count: usize,
}

impl Segments {
    /// The segment of pixel (`x`, `y`).
    pub fn at(&self, x: usize, y: usize) -> u32 {
        self.labels[y * self.width + x]
    }
}

/// Segments an RGB image (`rgb`: row-major, 3 bytes per pixel) of
/// `width × height` pixels into about `num_segments` superpixels;
/// `compactness` weighs closeness in the image against closeness in colour.
pub fn slic(
    rgb: &[u8],
    width: usize,
    height: usize,
    num_segments: usize,
    compactness: f64,
) -> Segments {
    assert_eq!(rgb.len(), width * height * 3, "3 bytes per pixel");
    let lab = scaled_lab(rgb, 1.0 / compactness);
    let (mut centres, steps) = grid_centroids(height, width, num_segments);
    let step = steps.iter().copied().fold(f64::MIN, f64::max);
    let assigned = kmeans(&lab, width, height, &mut centres, step);
    let count = centres.len();
    let mean_size = (width * height) as f64 / count as f64;
    let labels = enforce_connectivity(
        &assigned,
        width,
        height,
        (MIN_SIZE_FACTOR * mean_size) as usize,
        (MAX_SIZE_FACTOR * mean_size) as usize,
    );
    let count = labels.iter().max().map_or(0, |&m| m as usize + 1);
    Segments {
        width,
        height,
        labels,
        count,
    }
}

/// The image as Lab, three floats per pixel, each multiplied by `ratio`
/// (`1 / compactness`). As scikit-image does, the bytes are first scaled
/// to [0, 1] and then stretched so that the smallest channel value of the
/// image is 0 and the largest 1.
fn scaled_lab(rgb: &[u8], ratio: f64) -> Vec<f64> {
    let min = f64::from(rgb.iter().copied().min().unwrap_or(0)) / 255.0;
    let max = f64::from(rgb.iter().copied().max().unwrap_or(0)) / 255.0;
    // A byte's linear value depends on the byte alone: 256 powers per
    // image instead of three per pixel.
    let linear: Vec<f64> = (0..=255u8)
        .map(|byte| {
            let value = f64::from(byte) / 255.0 - min;
            let stretched = match max != min {
                true => value / (max - min),
                false => value,
            };
            linear_rgb(stretched)
        })
        .collect();
    rgb.chunks_exact(3)
        .flat_map(|pixel| {
            let lab = linear_to_lab(pixel.iter().map(|&b| linear[usize::from(b)]));
            lab.map(|v| v * ratio)
        })
        .collect()
}

/// sRGB in [0, 1] to CIE Lab under the D65 illuminant, 2° observer:
/// scikit-image's `rgb2lab` (`rgb2xyz` then `xyz2lab`), constants included.
pub fn rgb_to_lab(rgb: [f64; 3]) -> [f64; 3] {
    linear_to_lab(rgb.into_iter().map(linear_rgb))
}

/// An sRGB channel in [0, 1] made linear (`rgb2xyz`'s first step).
fn linear_rgb(c: f64) -> f64 {
    match c > 0.04045 {
        true => ((c + 0.055) / 1.055).powf(2.4),
        false => c / 12.92,
    }
}

/// Linear RGB to Lab: `rgb2xyz`'s matrix, then `xyz2lab`.
fn linear_to_lab(linear: impl Iterator<Item = f64>) -> [f64; 3] {
    const XYZ_FROM_RGB: [[f64; 3]; 3] = [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ];
    const WHITE: [f64; 3] = [0.95047, 1.0, 1.08883];
    let mut rgb = [0.0; 3];
    rgb.iter_mut().zip(linear).for_each(|(out, c)| *out = c);
    let mut xyz = [0.0; 3];
    for (out, row) in xyz.iter_mut().zip(&XYZ_FROM_RGB) {
        *out = row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2];
    }
    let f = |i: usize| {
        let t = xyz[i] / WHITE[i];
        match t > 0.008856 {
            true => t.cbrt(),
            false => 7.787 * t + 16.0 / 116.0,
        }
    };
    let (fx, fy, fz) = (f(0), f(1), f(2));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// scikit-image's `regular_grid` for a `(1, height, width)` volume: the
/// start and step of the grid along y and x (`None`: every pixel).
fn regular_grid(height: usize, width: usize, points: usize) -> [(usize, usize); 2] {
    let shape = [1usize, height, width];
    let space = (height * width) as f64;
    if space <= points as f64 {
        return [(0, 1), (0, 1)];
    }
    // Dimensions sorted by size (stable, as their order only matters for
    // equal sizes, whose steps are equal).
    let mut order = [0usize, 1, 2];
    order.sort_by_key(|&d| shape[d]);
    let sorted: Vec<f64> = order.iter().map(|&d| shape[d] as f64).collect();
    let mut steps = [(space / points as f64).powf(1.0 / 3.0); 3];
    if sorted.iter().zip(&steps).any(|(size, step)| size < step) {
        for dim in 0..3 {
            steps[dim] = sorted[dim];
            let rest: f64 = sorted[dim + 1..].iter().product();
            let per_dim = (rest / points as f64).powf(1.0 / (3 - dim - 1) as f64);
            steps[dim + 1..].iter_mut().for_each(|s| *s = per_dim);
            if sorted.iter().zip(&steps).all(|(size, step)| size >= step) {
                break;
            }
        }
    }
    let mut grid = [(0, 1); 3];
    for (i, &d) in order.iter().enumerate() {
        // numpy: `stepsizes // 2` truncated, `np.round` half to even.
        grid[d] = (
            (steps[i] / 2.0).floor() as usize,
            steps[i].round_ties_even() as usize,
        );
    }
    [grid[1], grid[2]]
}

/// A k-means centre: position and (scaled) colour.
#[derive(Debug, Clone, Copy)]
struct Centre {
    y: f64,
    x: f64,
    lab: [f64; 3],
}

/// The initial centres on the regular grid (row by row, colour 0 as
/// scikit-image starts them) and the grid steps `(z, y, x)`.
fn grid_centroids(height: usize, width: usize, points: usize) -> (Vec<Centre>, [f64; 3]) {
    let [(y0, dy), (x0, dx)] = regular_grid(height, width, points);
    let mut centres = Vec::new();
    for y in (y0..height).step_by(dy) {
        for x in (x0..width).step_by(dx) {
            centres.push(Centre {
                y: y as f64,
                x: x as f64,
                lab: [0.0; 3],
            });
        }
    }
    (centres, [1.0, dy as f64, dx as f64])
}

/// `_slic_cython`: assigns each pixel to the nearest centre within a window
/// of two grid steps, moves the centres to their pixels' means, and stops
/// when no pixel changes or after [`MAX_ITERATIONS`]. Returns each pixel's
/// centre (`u32::MAX` for a pixel no window reached).
fn kmeans(lab: &[f64], width: usize, height: usize, centres: &mut [Centre], step: f64) -> Vec<u32> {
    // The windows use the grid of the actual number of centres.
    let [(_, step_y), (_, step_x)] = regular_grid(height, width, centres.len());
    // scikit-image passes the step as a C float.
    let step = f64::from(step as f32);
    let spatial_weight = 1.0 / (step * step);
    let mut nearest = vec![u32::MAX; width * height];
    let mut distance = vec![f64::MAX; width * height];
    for _ in 0..MAX_ITERATIONS {
        let mut changed = false;
        distance.iter_mut().for_each(|d| *d = f64::MAX);
        for (k, centre) in centres.iter().enumerate() {
            let window = |c: f64, step: usize, size: usize| {
                let low = (c - 2.0 * step as f64).max(0.0) as usize;
                let high = (c + 2.0 * step as f64 + 1.0).min(size as f64) as usize;
                low..high
            };
            for y in window(centre.y, step_y, height) {
                let dy = centre.y - y as f64;
                for x in window(centre.x, step_x, width) {
                    let dx = centre.x - x as f64;
                    let i = y * width + x;
                    let pixel = &lab[3 * i..3 * i + 3];
                    let colour: f64 = (0..3).map(|c| (pixel[c] - centre.lab[c]).powi(2)).sum();
                    let d = (dy * dy + dx * dx) * spatial_weight + colour;
                    if distance[i] > d {
                        nearest[i] = k as u32;
                        distance[i] = d;
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
        let mut sums = vec![[0.0f64; 5]; centres.len()];
        let mut counts = vec![0usize; centres.len()];
        for (i, &k) in nearest.iter().enumerate() {
            if k == u32::MAX {
                continue;
            }
            let sum = &mut sums[k as usize];
            counts[k as usize] += 1;
            sum[0] += (i / width) as f64;
            sum[1] += (i % width) as f64;
            for c in 0..3 {
                sum[2 + c] += lab[3 * i + c];
            }
        }
        for ((centre, sum), &n) in centres.iter_mut().zip(&sums).zip(&counts) {
            // An empty centre becomes NaN, as in scikit-image, and reaches no pixel again.
            let n = n as f64;
            centre.y = sum[0] / n;
            centre.x = sum[1] / n;
            centre.lab = [sum[2] / n, sum[3] / n, sum[4] / n];
        }
    }
    nearest
}

/// `_enforce_label_connectivity_cython`: relabels connected pieces in scan
/// order from 0; a piece smaller than `min_size` takes the label of the
/// last labelled neighbour its search met. The search of one piece stops at
/// `max_size` pixels, as there. Labels end up consecutive.
fn enforce_connectivity(
    labels: &[u32],
    width: usize,
    height: usize,
    min_size: usize,
    max_size: usize,
) -> Vec<u32> {
    const UNSET: u32 = u32::MAX;
    let mut connected = vec![UNSET; labels.len()];
    let mut queue: Vec<usize> = Vec::with_capacity(max_size.max(1));
    let mut next_label = 0u32;
    for start in 0..labels.len() {
        if labels[start] == UNSET || connected[start] != UNSET {
            continue;
        }
        let label = labels[start];
        let mut adjacent = next_label;
        connected[start] = next_label;
        queue.clear();
        queue.push(start);
        let mut visited = 0;
        'search: while visited < queue.len() && queue.len() < max_size {
            let (x, y) = (queue[visited] % width, queue[visited] / width);
            // x + 1, x − 1, y + 1, y − 1: scikit-image's neighbour order.
            let neighbours = [
                (x + 1 < width).then(|| queue[visited] + 1),
                (x > 0).then(|| queue[visited] - 1),
                (y + 1 < height).then(|| queue[visited] + width),
                (y > 0).then(|| queue[visited] - width),
            ];
            for n in neighbours.into_iter().flatten() {
                if labels[n] == label && connected[n] == UNSET {
                    connected[n] = next_label;
                    queue.push(n);
                    if queue.len() >= max_size {
                        break 'search;
                    }
                } else if connected[n] != UNSET && connected[n] != next_label {
                    adjacent = connected[n];
                }
            }
            visited += 1;
        }
        if queue.len() < min_size {
            for &i in &queue {
                connected[i] = adjacent;
            }
        } else {
            next_label += 1;
        }
    }
    // Pixels no centre's window reached (scikit-image leaves them label 0,
    // outside every segment) become one more segment, so every pixel is a
    // player's.
    connected
        .iter_mut()
        .filter(|l| **l == UNSET)
        .for_each(|l| *l = next_label);
    connected
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An image of `colours` in equal vertical bands.
    fn bands(width: usize, height: usize, colours: &[[u8; 3]]) -> Vec<u8> {
        let mut rgb = Vec::with_capacity(width * height * 3);
        for _ in 0..height {
            for x in 0..width {
                rgb.extend_from_slice(&colours[x * colours.len() / width]);
            }
        }
        rgb
    }

    #[test]
    fn lab_matches_scikit_images_rgb2lab() {
        // skimage.color.rgb2lab (0.25.2) of white, black, red and one blue.
        let cases = [
            ([1.0, 1.0, 1.0], [100.0, -2.45493786e-03, 4.65342115e-03]),
            ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
            ([1.0, 0.0, 0.0], [53.2405879, 80.0923082, 67.2027510]),
            ([0.2, 0.5, 0.7], [50.9720364, -6.39817671, -33.7093230]),
        ];
        for (rgb, lab) in cases {
            let ours = rgb_to_lab(rgb);
            assert!(
                ours.iter().zip(&lab).all(|(a, b)| (a - b).abs() < 1e-6),
                "{rgb:?}: {ours:?}"
            );
        }
    }

    #[test]
    fn regular_grid_follows_scikit_image() {
        // skimage.util.regular_grid((1, 224, 224), 20): steps (1, 50, 50), starts (0, 25, 25)
        assert_eq!(regular_grid(224, 224, 20), [(25, 50), (25, 50)]);
        // (1, 10, 100) with 4 points: the rows cannot fit a step of
        // sqrt(250), so the step is 10 along y and 100 / 4 = 25 along x.
        assert_eq!(regular_grid(10, 100, 4), [(5, 10), (12, 25)]);
        assert_eq!(regular_grid(2, 2, 10), [(0, 1), (0, 1)]);
    }

    /// The adjusted Rand index of two labellings of the same pixels (1:
    /// the same partition; about 0: no more alike than chance).
    fn adjusted_rand_index(a: &[u32], b: &[u32]) -> f64 {
        let pairs = |n: f64| n * (n - 1.0) / 2.0;
        let mut table = std::collections::HashMap::new();
        let (mut rows, mut columns) = (
            std::collections::HashMap::new(),
            std::collections::HashMap::new(),
        );
        for (&x, &y) in a.iter().zip(b) {
            *table.entry((x, y)).or_insert(0.0) += 1.0;
            *rows.entry(x).or_insert(0.0) += 1.0;
            *columns.entry(y).or_insert(0.0) += 1.0;
        }
        let index: f64 = table.values().map(|&n| pairs(n)).sum();
        let row_pairs: f64 = rows.values().map(|&n| pairs(n)).sum();
        let column_pairs: f64 = columns.values().map(|&n| pairs(n)).sum();
        let expected = row_pairs * column_pairs / pairs(a.len() as f64);
        let max = (row_pairs + column_pairs) / 2.0;
        match max == expected {
            true => 1.0,
            false => (index - expected) / (max - expected),
        }
    }

    /// scikit-image's maps for the images of `tests/fixtures/slic/`
    /// (scripts/gen-slic-fixture.py): the same partition on flat-colour
    /// images (with labels one lower, as ours start at 0), an adjusted
    /// Rand index of at least 0.9 on photos and noise.
    #[test]
    fn slic_matches_scikit_image() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/slic");
        let listing: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap())
                .unwrap();
        let cases = listing["cases"].as_array().unwrap();
        assert!(cases.len() >= 8);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let image = image::open(dir.join(format!("{name}.png")))
                .unwrap()
                .to_rgb8();
            let reference = image::open(dir.join(format!("{name}.labels.png")))
                .unwrap()
                .to_luma8();
            let (w, h) = (image.width() as usize, image.height() as usize);
            let ours = slic(
                image.as_raw(),
                w,
                h,
                case["num_segments"].as_u64().unwrap() as usize,
                case["compactness"].as_f64().unwrap(),
            );
            let theirs: Vec<u32> = reference.as_raw().iter().map(|&l| u32::from(l)).collect();
            let ari = adjusted_rand_index(&ours.labels, &theirs);
            eprintln!(
                "{name}: {} segments (scikit-image {}), adjusted Rand index {ari:.4}",
                ours.count, case["segments_found"]
            );
            if case["exact"].as_bool().unwrap() {
                let shifted: Vec<u32> = ours.labels.iter().map(|l| l + 1).collect();
                assert_eq!(shifted, theirs, "{name}: not the same labels");
            } else {
                assert!(ari >= 0.9, "{name}: adjusted Rand index {ari}");
            }
        }
    }

    #[test]
    fn every_pixel_gets_a_segment_and_labels_are_consecutive() {
        let rgb = bands(40, 30, &[[200, 10, 10], [10, 200, 10], [10, 10, 200]]);
        let s = slic(&rgb, 40, 30, 6, 5.0);
        assert!(s.labels.iter().all(|&l| (l as usize) < s.count));
        for label in 0..s.count as u32 {
            assert!(s.labels.contains(&label), "label {label} unused");
        }
    }
}
