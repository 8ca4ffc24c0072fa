//! Files and directories only their owner may read: the data directory (0700), the SQLite
//! database with its WAL and SHM, the key file, the initial admin password, backups (0600).
//! Anyone who reads them holds the installation's secrets.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Creates a directory and its missing parents (owner-only); an existing one is left as it is.
pub fn create_dir_all(path: &Path) -> anyhow::Result<()> {
    let mut builder = DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(path)
        .with_context(|| format!("cannot create the directory {}", path.display()))
}

fn options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates the file empty if it does not exist yet (SQLite then gives its WAL and SHM files
/// the same mode); an existing file keeps its content and mode.
pub fn ensure_file(path: &Path) -> anyhow::Result<()> {
    options()
        .create(true)
        .open(path)
        .map(drop)
        .with_context(|| format!("cannot create {}", path.display()))
}

/// Creates a new empty file; one that exists already is an error, never overwritten.
pub fn create_new(path: &Path) -> anyhow::Result<File> {
    options()
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))
}

/// Writes a whole file (in a directory created owner-only if missing).
pub fn write(path: &Path, content: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        create_dir_all(parent)?;
    }
    let mut file = options()
        .create(true)
        .truncate(true)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(content.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn everything_is_created_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_dir_all(&nested).unwrap();
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&nested), 0o700);
        let file = nested.join("secret");
        write(&file, "x").unwrap();
        assert_eq!(mode(&file), 0o600);
        let empty = nested.join("empty");
        ensure_file(&empty).unwrap();
        assert_eq!(mode(&empty), 0o600);
        std::fs::write(&empty, "kept").unwrap();
        ensure_file(&empty).unwrap();
        assert_eq!(std::fs::read_to_string(&empty).unwrap(), "kept");
        let err = create_new(&empty).unwrap_err();
        assert!(format!("{err:#}").contains("must not exist yet"), "{err:#}");
    }
}
