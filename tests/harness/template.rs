//! Data-dir templates, built once per machine and copied for each server.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::workdir::{WorkDir, harness_root};

/// The cached template `name` under the harness root, built by `build` on first use on this
/// machine. `build` makes a data dir inside the work dir it gets and returns its path.
///
/// A lock file makes parallel test processes wait for one builder; the finished dir appears
/// by an atomic rename, so a reader never sees half a template.
pub(crate) fn cached_template(name: &str, build: impl FnOnce(&WorkDir) -> PathBuf) -> PathBuf {
    let root = harness_root();
    let template = root.join(name);
    if template.is_dir() {
        return template;
    }
    let lock_path = root.join(format!("{name}.lock"));
    let lock = File::create(&lock_path)
        .and_then(|file| file.lock().map(|()| file))
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", lock_path.display()));
    if !template.is_dir() {
        // A short name: MariaDB's socket path below it must stay under 108 bytes.
        let work = WorkDir::new("build");
        let built = build(&work);
        fs::rename(&built, &template)
            .unwrap_or_else(|e| panic!("cannot move {} into place: {e}", built.display()));
    }
    drop(lock);
    template
}

/// A short hash of everything a template is made from, for its name: a template built by an
/// older harness is then never reused.
pub(crate) fn fingerprint(parts: &[&str]) -> String {
    // FNV-1a: stable across Rust releases, unlike `DefaultHasher`.
    let hash = parts
        .iter()
        .flat_map(|part| part.bytes().chain([0]))
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{:08x}", hash >> 32)
}

/// Copies a template into `to`, keeping owners and modes.
pub(crate) fn copy_template(template: &Path, to: &Path) {
    let status = Command::new("cp").arg("-a").arg(template).arg(to).status();
    let copied = status.is_ok_and(|status| status.success());
    assert!(
        copied,
        "cannot copy {} to {}",
        template.display(),
        to.display()
    );
}
