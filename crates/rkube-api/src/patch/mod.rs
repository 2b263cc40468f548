//! Strategic merge patch (`application/strategic-merge-patch+json`), as
//! kube-apiserver applies it to the built-in kinds, over
//! `serde_json::Value`.
//!
//! - [`strategic_merge`] (or [`strategic_merge_owned`]) applies a patch
//!   (upstream's `StrategicMergeMapPatch`);
//! - [`create_two_way_merge_patch`] computes one from two versions of an
//!   object, as kubectl does (`CreateTwoWayMergePatch`).
//!
//! Both walk the object with a [`SchemaLookup`]: for each field of each
//! definition, its patch strategy, merge key and child definition.
//! [`BUILTIN`] answers it for the built-in kinds; [`root_definition`] names
//! the definition of a kind. Fields the schema does not know merge as plain
//! JSON (objects recursively, lists replaced), where upstream, walking Go
//! structs, would fail; below maps of objects upstream fails and so do we.
//!
//! # Calling it from the API server
//!
//! ```
//! use rkube_api::patch::{BUILTIN, root_definition, strategic_merge};
//! use serde_json::json;
//!
//! let live = json!({"apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "nginx"},
//!     "spec": {"template": {"spec": {"containers": [
//!         {"name": "nginx", "image": "nginx:1.14.2"}]}}}});
//! let patch = json!({"spec": {"template": {"spec": {"containers": [
//!     {"image": "nginx:1.21", "name": "nginx"}]}}}});
//! let def = root_definition("apps", "v1", "Deployment").unwrap();
//! let patched = strategic_merge(&live, &patch, &BUILTIN, def).unwrap();
//! assert_eq!(patched["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.21");
//! ```
//!
//! The definition is that of the kind the request addresses, in the
//! request's version (`/scale` patches an `autoscaling/v1` `Scale`; a
//! `/status` patch the kind itself). Kinds without a definition (custom
//! resources) do not take strategic merge patches: kube-apiserver answers
//! 415. Errors carry upstream's wording and status: see [`PatchError`].

mod diff;
mod error;
mod order;
mod schema;
mod strategic;
mod type_graph;

#[cfg(test)]
mod tests_apply;
#[cfg(test)]
mod tests_kubectl;
#[cfg(test)]
mod tests_prop;
#[cfg(test)]
mod tests_upstream;

pub use diff::create_two_way_merge_patch;
pub use error::PatchError;
pub use schema::{BUILTIN, BuiltinSchema, Child, FieldInfo, SchemaLookup, root_definition};
pub use strategic::{strategic_merge, strategic_merge_owned};
