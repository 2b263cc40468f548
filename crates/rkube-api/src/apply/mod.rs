//! Server-side apply and the field ownership it rests on, over
//! `serde_json::Value`, for the built-in kinds.
//!
//! - [`apply`]: `application/apply-patch+yaml`: the configuration's fields
//!   are set on the live object and owned by the applier; fields owned by
//!   others are conflicts unless forced; fields the applier applied before
//!   and dropped now go when nobody else owns them.
//! - [`record_update`]: every other write (create, update, patch) takes
//!   ownership of the fields it changed.
//!
//! Both walk the object with its schema ([`typed`]): the list types and
//! map types of [`crate::patch_strategy`] and the type graph of
//! [`crate::patch`], under upstream's rules for built-in types. Field sets
//! ([`fieldpath`]) are what `metadata.managedFields` stores as FieldsV1.
//! Upstream's structured-merge-diff and the apiserver's field manager
//! are the reference for every rule here.

mod compare;
mod conflict;
pub mod fieldpath;
mod keys;
pub mod managed;
mod merge;
mod operation;
mod text;
pub mod typed;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_prop;
#[cfg(test)]
mod tests_sets;

pub use compare::{Comparison, compare};
pub use conflict::{Conflict, Conflicts};
pub use fieldpath::{FieldSet, Path, PathElement};
pub use managed::{Entry, Operation, Scope};
pub use merge::merge;
pub use operation::{ApplyError, LAST_APPLIED, Writer, apply, record_update};
