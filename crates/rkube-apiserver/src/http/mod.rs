//! The HTTP layer: what a request asks for (`request_info`), in which
//! encodings (`negotiation`), and how answers are written (`response`).

pub mod linger;
pub mod negotiation;
pub mod query;
pub mod request_info;
pub mod response;
