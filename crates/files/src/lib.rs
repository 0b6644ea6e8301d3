//! Private files and folders. Everything Resident Services keeps on disk is either personal data
//! (the database, packets, the outbox with its OTPs) or a key, so every folder it creates is 0700 and
//! every file 0600, whatever the process's umask. Writes that replace a file go through a temporary
//! file, `fsync` and `rename`, so a reader never sees half of one.

use std::io::Write;
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

/// Creates `dir` and any missing parents as 0700. A folder that exists is left as it is: it may be
/// the operator's (`/tmp`, a shared or write-once mount); [`tighten_dir`] closes the service's own.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir)
}

/// Sets an existing folder of the service's own (its data folder and what it creates there) to 0700:
/// a folder an earlier version left 0755 is closed. A missing folder is not an error.
pub fn tighten_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() && m.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let _ = dir;
    Ok(())
}

fn private_options(options: &mut std::fs::OpenOptions) {
    #[cfg(unix)]
    options.mode(0o600);
    let _ = options;
}

/// Writes a new file (refused if it exists) as 0600, synced to disk.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    private_options(&mut options);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Opens `path` for writing, created (or emptied) as 0600: for output written as it is produced.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    private_options(&mut options);
    let file = options.open(path)?;
    tighten(path)?;
    Ok(file)
}

/// Writes `path` whole or not at all (temporary file, sync, rename), as 0600; its folder is created
/// private when missing.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    private_dir(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.part", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let written = write_new(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return written;
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Sets an existing file to 0600 (files an earlier version created with the umask's mode); a missing
/// file is not an error.
pub fn tighten(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let _ = path;
    Ok(())
}

/// Creates an empty file as 0600 if it does not exist yet (so that what a library then creates in it,
/// or beside it from its mode, such as SQLite's `-wal` and `-shm`, is private too).
pub fn touch_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    private_options(&mut options);
    options.open(path)?;
    tighten(path)
}

/// Whether nobody but the owner can read `path` (false where permissions are not Unix's).
pub fn is_private(path: &Path) -> bool {
    #[cfg(unix)]
    {
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 == 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_and_files_are_private_whatever_was_there() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a/b/c");
        private_dir(&deep).unwrap();
        assert_eq!(mode(&root.path().join("a")), 0o700);
        assert_eq!(mode(&deep), 0o700);
        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&open).unwrap();
        assert_eq!(mode(&open), 0o755, "someone else's folder is left alone");
        tighten_dir(&open).unwrap();
        assert_eq!(mode(&open), 0o700);
        tighten_dir(&root.path().join("missing")).unwrap();

        let f = deep.join("key");
        write_new(&f, b"secret").unwrap();
        assert_eq!(mode(&f), 0o600);
        assert!(write_new(&f, b"again").is_err(), "never overwrites");
        write_atomic(&f, b"replaced").unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"replaced");
        assert_eq!(mode(&f), 0o600);
        assert!(std::fs::read_dir(&deep).unwrap().count() == 1, "no temporary file left");

        let loose = root.path().join("loose");
        std::fs::write(&loose, b"x").unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(!is_private(&loose));
        tighten(&loose).unwrap();
        assert!(is_private(&loose));
        tighten(&root.path().join("missing")).unwrap();
        let db = root.path().join("db");
        touch_private(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
    }
}
