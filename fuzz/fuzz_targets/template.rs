//! Templates: front matter (TOML between `+++` lines) and minijinja bodies. The first byte
//! picks the extension (.txt, .html, .md); the rest is written to a file, loaded, and
//! rendered with a fixed row.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // tmpfs when there is one: a file is written per input.
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("rmail-fuzz-template-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the fuzz template folder");
        std::fs::write(dir.join("a.pdf"), b"%PDF-1.4\n").expect("write a.pdf");
        dir.canonicalize().expect("canonical fuzz folder")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let name = ["t.txt", "t.html", "t.md"][usize::from(pick % 3)];
    let path = dir().join(name);
    if std::fs::write(&path, bytes).is_err() {
        return;
    }
    rmail::fuzzing::template(&path, dir());
});
