//! Finding the dataset's files and opening them, gzip or not.

use crate::error::{JobError, Result};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// Lists the files that make up a dataset: the file itself, or every
/// non-hidden, non-empty file under a folder, recursively, in path order.
pub fn list(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).map_err(|e| {
        JobError::client(format!(
            "No data files found under {}: {e}. Mount the dataset there or pass --data PATH.",
            path.display()
        ))
    })?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    walk(path, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(JobError::client(format!(
            "No data files found under {}. Put the dataset file(s) there or pass --data PATH.",
            path.display()
        )));
    }
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        JobError::client(format!(
            "Cannot list the data folder {}: {e}",
            dir.display()
        ))
    })?;
    for entry in entries {
        let entry =
            entry.map_err(|e| JobError::client(format!("Cannot list {}: {e}", dir.display())))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let meta = std::fs::metadata(&path)
            .map_err(|e| JobError::client(format!("Cannot read {}: {e}", path.display())))?;
        if meta.is_dir() {
            walk(&path, out)?;
        } else if meta.len() > 0 {
            out.push(path);
        }
    }
    Ok(())
}

/// Opens a file for reading, decompressing gzip transparently (detected by
/// its magic bytes, so a `.gz` suffix is not required).
pub fn open(path: &Path) -> Result<Box<dyn Read + Send>> {
    let mut file = File::open(path)
        .map_err(|e| JobError::client(format!("Cannot open {}: {e}", path.display())))?;
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut file, &mut magic)
        .map_err(|e| JobError::client(format!("Cannot read {}: {e}", path.display())))?;
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let chained = head.chain(file);
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::read::MultiGzDecoder::new(chained),
        )))
    } else {
        Ok(Box::new(BufReader::with_capacity(1 << 16, chained)))
    }
}

/// Reads a whole file into memory (decompressing gzip).
pub fn read_all(path: &Path) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    open(path)?
        .read_to_end(&mut buf)
        .map_err(|e| JobError::client(format!("Cannot read {}: {e}", path.display())))?;
    Ok(buf)
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The processing input folder, against which relative URIs in the config
/// resolve: the parent of the data path.
pub fn input_root(data: &Path) -> PathBuf {
    data.parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Resolves a dataset URI from the config (`facet_dataset_uri`, ...) to a
/// local path: `file://` and absolute paths as they are, relative paths
/// against `base` (the processing input folder), and S3 URIs downloaded
/// first (feature `aws`).
pub fn resolve_uri(key: &str, uri: &str, base: &Path) -> Result<PathBuf> {
    if uri.starts_with("s3://") {
        return s3(key, uri);
    }
    let raw = uri.strip_prefix("file://").unwrap_or(uri);
    let path = Path::new(raw);
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    if path
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(JobError::client(format!(
            "{key}: the relative path {uri:?} leaves the processing input folder; use a path inside {}.",
            base.display()
        )));
    }
    Ok(base.join(path))
}

#[cfg(feature = "aws")]
fn s3(key: &str, uri: &str) -> Result<PathBuf> {
    crate::aws::s3::download(key, uri)
}

#[cfg(not(feature = "aws"))]
fn s3(key: &str, uri: &str) -> Result<PathBuf> {
    Err(JobError::client(format!(
        "{key}: reading S3 URIs ({uri}) needs a build with the `aws` feature (the Docker image has it); or download the file into the processing input and give its path."
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn lists_folders_in_order_and_reads_gzip() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        std::fs::write(dir.path().join("b/part-1.csv"), "2\n").unwrap();
        std::fs::write(dir.path().join("a.csv"), "1\n").unwrap();
        std::fs::write(dir.path().join(".hidden"), "x\n").unwrap();
        std::fs::write(dir.path().join("empty.csv"), "").unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"3\n").unwrap();
        std::fs::write(dir.path().join("c.csv.gz"), gz.finish().unwrap()).unwrap();
        let files = list(dir.path()).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| {
                p.strip_prefix(dir.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["a.csv", "b/part-1.csv", "c.csv.gz"]);
        assert_eq!(read_all(&files[2]).unwrap(), b"3\n");
    }

    #[test]
    fn relative_uris_stay_inside_the_input_folder() {
        let base = Path::new("/opt/ml/processing/input");
        assert_eq!(
            resolve_uri("k", "facets.csv", base).unwrap(),
            base.join("facets.csv")
        );
        assert!(resolve_uri("k", "../../etc/passwd", base).is_err());
        #[cfg(not(feature = "aws"))]
        assert!(resolve_uri("k", "s3://b/k", base)
            .unwrap_err()
            .message
            .contains("`aws` feature"));
    }
}
