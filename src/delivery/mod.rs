//! Getting messages delivered: one message delivered or kept (`deliver`), the outbox on disk,
//! flushing it, and the merge (many rows over pooled sessions).

pub(crate) mod deliver;
pub(crate) mod flush;
pub(crate) mod log;
pub(crate) mod merge;
pub(crate) mod outbox;
pub(crate) mod sent;
