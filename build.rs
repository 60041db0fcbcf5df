//! Link-time settings for the `rmail` binary only (no effect on the library or the deps).
//!
//! A one-off `rmail send` is mostly process start (`perf record` of 300 runs against
//! smtp-sink), and the largest part of that start was the dynamic loader relocating the
//! executable: about 28,000 relative relocations spread over 500 KB of `.data.rel.ro` and
//! `.got`, each page of it copied on write — 120 of the 290 page faults of a run and about
//! 0.7 ms of its 3.5 ms of CPU. Linked as a fixed-position executable (`-no-pie`) those
//! addresses are final at link time: nothing to relocate, nothing copied. The shared
//! libraries, heap, stack and mmap areas stay randomized; only the executable's own image
//! sits at a fixed address. Where PIE is wanted anyway, relative relocations are at least
//! packed (DT_RELR, glibc 2.36+ / Debian 12), which is what the first flag does.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
