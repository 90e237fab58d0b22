//! What the dataset targets share: reading bytes as a dataset file.

use openclarify::config::AnalysisConfig;
use openclarify::dataset::Dataset;

/// Writes `body` to this process's scratch file (the readers take paths)
/// and streams every cell of every row, typing each as a request would.
pub fn read_dataset(config: &AnalysisConfig, body: &[u8], extension: &str) {
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        "openclarify-fuzz-{}.{extension}",
        std::process::id()
    ));
    std::fs::write(&path, body).expect("the scratch file is writable");
    let Ok(dataset) = Dataset::open(config, &path) else {
        return;
    };
    let columns: Vec<usize> = (0..dataset.schema.headers.len()).collect();
    for chunk in dataset.chunks().expect("chunks start") {
        let Ok(chunk) = chunk else {
            return;
        };
        for row in 0..chunk.len() {
            for cell in chunk.record(row, &columns) {
                let _ = openclarify::predictor::request::typed(&cell);
            }
        }
    }
}
