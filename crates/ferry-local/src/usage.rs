//! The file system's space (rclone's `about` for local): what union's space policies
//! read. Measured on the root, or on its nearest existing parent before it exists.

use std::path::Path;

use ferry_core::{Error, Result, Usage};

/// The space of the file system holding `root`.
pub fn of(root: &Path) -> Result<Option<Usage>> {
    let mut at = root;
    while !at.exists() {
        match at.parent() {
            Some(p) => at = p,
            None => return Ok(None),
        }
    }
    measure(at)
}

// statvfs's field types differ between platforms (u32 or u64): `u64::from` takes both.
#[cfg(unix)]
#[allow(clippy::useless_conversion)]
fn measure(at: &Path) -> Result<Option<Usage>> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(at.as_os_str().as_bytes())
        .map_err(|_| Error::new(ferry_core::ErrorKind::InvalidPath, "a NUL byte in the path"))?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c` is a NUL-terminated path and `st` a buffer of the right type.
    let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        return Err(Error::io(
            format!("measuring free space at {}", at.display()),
            err,
        ));
    }
    // SAFETY: statvfs succeeded, so it filled the buffer.
    let st = unsafe { st.assume_init() };
    let block = u64::from(st.f_frsize);
    let total = u64::from(st.f_blocks) * block;
    Ok(Some(Usage {
        total: Some(total),
        used: Some(total.saturating_sub(u64::from(st.f_bfree) * block)),
        free: Some(u64::from(st.f_bavail) * block),
        objects: None,
    }))
}

#[cfg(not(unix))]
fn measure(_at: &Path) -> Result<Option<Usage>> {
    Ok(None)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_missing_root_is_measured_on_its_parent() {
        let dir = tempfile::tempdir().unwrap();
        let u = super::of(&dir.path().join("not/yet")).unwrap();
        if cfg!(unix) {
            let u = u.expect("unix reports space");
            assert!(u.free.is_some() && u.total >= u.free);
        }
    }
}
