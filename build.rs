//! Link-time setting for the `rmail` binary only (no effect on the library or the deps).
//!
//! Relative relocations packed (DT_RELR, glibc 2.36+ / Debian 12): the dynamic loader
//! otherwise walks about 28,000 of them on every start, a tenth of what a one-off send
//! costs (`perf record` of `rmail send`); packed they take a few kilobytes.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
