//! Standard output is for machines: one JSON object a line, flushed at once.
//! The same rules as the customer CLI's, written once in
//! `tillcode_sdk_common::stdout`.

pub use tillcode_sdk_common::stdout::{json, text};
