//! Files only the service can read: its folders are 0700 and its files 0600, also when they already exist.
//!
//! The database and the mail folder hold personal data; another local account on the server must not be
//! able to read them, whatever the umask of whoever started the service.
use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Creates `dir` (and its parents) if needed and makes it readable by the service's user only.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    restrict(dir, 0o700)
}

/// Makes an existing file readable and writable by the service's user only; a missing file is fine.
pub fn private_file(path: &Path) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(_) => restrict(path, 0o600),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates (or truncates) a file that is 0600 from its first byte, so its content is never readable by
/// anyone else, not even for a moment.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path)?;
    // `mode` only applies to a file created now; an existing one keeps its bits until restricted.
    restrict(path, 0o600)?;
    Ok(file)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_become_0700_and_files_0600_even_when_they_existed_open() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&data).unwrap();
        assert_eq!(mode(&data), 0o700);

        let f = data.join("x");
        std::fs::write(&f, "x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        private_file(&f).unwrap();
        assert_eq!(mode(&f), 0o600);
        private_file(&data.join("missing")).unwrap();

        let g = data.join("new");
        create_private(&g).unwrap();
        assert_eq!(mode(&g), 0o600);
        std::fs::set_permissions(&g, std::fs::Permissions::from_mode(0o666)).unwrap();
        create_private(&g).unwrap();
        assert_eq!(mode(&g), 0o600);
    }
}
