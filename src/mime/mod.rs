//! A message spec → the bytes on the wire: MIME composition (mail-builder), the streamed
//! message data, the text alternative of HTML, and DKIM signing.

pub(crate) mod data;
pub(crate) mod dkim;
pub(crate) mod file_name;
pub(crate) mod html_text;
pub(crate) mod render;
