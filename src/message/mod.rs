//! What a message is before it becomes bytes: mailboxes, the spec of parts and headers, and
//! the two ways one is made (`compose` from `rmail send`'s request, `raw` from sendmail input).

pub(crate) mod address;
pub(crate) mod address_header;
pub(crate) mod compose;
pub(crate) mod identity;
pub(crate) mod part_data;
pub(crate) mod qp;
pub(crate) mod raw;
pub(crate) mod spec;
pub(crate) mod stdin;
