//! RFC 9530 `Content-Digest`, the hash of a request body that signed
//! terminal requests carry. It lives in `tillcode-protocol`, beside the
//! request signatures that cover it, so that the API server checks digests
//! with the very code that tills use to make them.

pub use tillcode_protocol::content_digest::*;
