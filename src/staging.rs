//! Atomic writes that never leave a temporary file among the results.
//!
//! An output is written in full and flushed before it appears under its
//! name, so a reader never sees half of it. On Linux the bytes go to an
//! unnamed file in the output's folder (`O_TMPFILE`), which is given its
//! name only once complete: a job killed at any moment, even with SIGKILL,
//! leaves nothing behind, because until then the file has no name to leave.
//! Where the filesystem or the platform has no unnamed files (macOS, old
//! overlay filesystems), the bytes go to `.<name>.tmp-<pid>` beside the
//! output and are renamed; what a killed job leaves that way is removed
//! when the next job starts on the same output folder
//! ([`remove_leftovers`]).
//!
//! Writes hold a shared lock that [`freeze`] takes for good when a signal
//! ends the process: the write in progress lands, and none starts after.

use std::io::Write;
use std::path::Path;
use std::sync::RwLock;

/// Held shared by every write; taken exclusively, for good, by [`freeze`].
static WRITES: RwLock<()> = RwLock::new(());

/// Lets the write in progress finish and blocks every later one, for the
/// rest of the process: called when a signal ends the job.
pub fn freeze() {
    let guard = WRITES.write().unwrap_or_else(|p| p.into_inner());
    std::mem::forget(guard);
}

/// Writes `contents` to `path` atomically (see the module documentation).
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let _writing = WRITES.read().unwrap_or_else(|p| p.into_inner());
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    #[cfg(target_os = "linux")]
    if let Some(written) = unnamed::write(dir, path, contents) {
        return written;
    }
    let tmp = dir.join(format!(".{}.tmp-{}", file_name(path), std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned())
}

/// Removes, under `output` and its subfolders, the `.<name>.tmp-<pid>`
/// files of processes that no longer run: what a job killed mid-write left
/// where unnamed files are not available. Without `/proc` it removes none.
pub fn remove_leftovers(output: &Path) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let mut folders = vec![output.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name
                .strip_prefix('.')
                .and_then(|n| n.rsplit_once(".tmp-"))
                .map(|(_, pid)| pid.to_string())
                .filter(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
            if let Some(pid) = pid {
                if !proc.join(&pid).exists() {
                    tracing::info!(path = %path.display(), "removing a killed job's temporary file");
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
    }
}

/// Unnamed files (`O_TMPFILE`), linked to their name once complete.
#[cfg(target_os = "linux")]
mod unnamed {
    use std::ffi::CString;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::Path;

    /// Writes `contents` to an unnamed file in `dir` and links it as
    /// `path`. `None` when `dir`'s filesystem has no unnamed files, so the
    /// caller uses a named temporary file instead.
    pub(super) fn write(dir: &Path, path: &Path, contents: &[u8]) -> Option<std::io::Result<()>> {
        let mut file = match std::fs::OpenOptions::new()
            .write(true)
            .mode(0o644)
            .custom_flags(libc::O_TMPFILE)
            .open(dir)
        {
            Ok(file) => file,
            Err(e) if unsupported(&e) => return None,
            Err(e) => return Some(Err(e)),
        };
        let written = file
            .write_all(contents)
            .and_then(|()| file.sync_all())
            .and_then(|()| link(&file, path));
        Some(written)
    }

    /// Errors that mean "no unnamed files here" rather than a real failure.
    fn unsupported(e: &std::io::Error) -> bool {
        matches!(
            e.raw_os_error(),
            Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL | libc::ENOENT)
        )
    }

    /// Gives the open unnamed `file` the name `path`, replacing a file of
    /// that name (an earlier run's): the old one is removed first, since a
    /// link never replaces, so a reader sees the old file, no file, or the
    /// new one, never a partial one.
    fn link(file: &std::fs::File, path: &Path) -> std::io::Result<()> {
        let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .expect("no NUL in a /proc path");
        let to = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::other("a NUL byte in the output path"))?;
        let link_once = || {
            // SAFETY: both arguments are NUL-terminated C strings that live
            // across the call; linkat reads them and keeps no reference.
            let status = unsafe {
                libc::linkat(
                    libc::AT_FDCWD,
                    from.as_ptr(),
                    libc::AT_FDCWD,
                    to.as_ptr(),
                    libc::AT_SYMLINK_FOLLOW,
                )
            };
            match status {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        };
        match link_once() {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::remove_file(path)?;
                link_once()
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_write_leaves_only_the_file_and_replaces_an_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/a.json");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"{}").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        assert_eq!(names(dir.path()), ["sub"]);
        assert_eq!(names(&dir.path().join("sub")), ["a.json"]);
    }

    #[test]
    fn temporary_files_of_dead_processes_are_removed_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("explanations_shap");
        std::fs::create_dir_all(&sub).unwrap();
        // PIDs stay below 2^22 on Linux: this one cannot be running.
        std::fs::write(sub.join(".out.csv.tmp-4294967295"), b"1,").unwrap();
        let mine = format!(".analysis.json.tmp-{}", std::process::id());
        std::fs::write(dir.path().join(&mine), b"{").unwrap();
        std::fs::write(dir.path().join("report.html"), b"<html>").unwrap();
        remove_leftovers(dir.path());
        assert_eq!(names(&sub), Vec::<String>::new());
        assert_eq!(
            names(dir.path()),
            [mine.as_str(), "explanations_shap", "report.html"]
        );
    }
}
