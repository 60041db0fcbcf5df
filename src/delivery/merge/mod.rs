//! `rmail merge`, the delivery half: rows read (`data`), rendered and checked (`plan`),
//! sent over pooled sessions at a capped rate (`pool`, `pace`), each accepted row recorded
//! (`journal`). `plan` and `pool` do not know each other: `commands/merge.rs` builds the
//! plan and hands the pool a function that builds a row's message.

pub(crate) mod data;
pub(crate) mod journal;
pub(crate) mod key;
pub(crate) mod pace;
pub(crate) mod plan;
pub(crate) mod pool;
