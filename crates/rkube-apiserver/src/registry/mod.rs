//! The registry: one generic store over the backend (`store`), plus one
//! strategy per resource (`strategy`) for what differs between resources.

pub mod allocator;
pub mod managed_fields;
pub mod raw;
pub mod store;
pub mod strategy;

pub use store::{ListOptions, ListResult, Registry};
