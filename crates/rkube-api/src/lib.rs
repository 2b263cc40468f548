//! What a Kubernetes object is, independent of any transport or storage:
//! the resource catalogue, metadata rules, defaults, validation, version
//! conversion, label and field selectors, and printer columns. No I/O.

pub mod apply;
pub mod catalogue;
pub mod conversion;
pub mod defaults;
pub mod meta;
pub mod names;
pub mod patch;
pub mod patch_strategy;
pub mod printers;
pub mod selectors;
pub mod status;
pub mod validation;

/// Resource quantities, one implementation for validation, the scheduler
/// and the autoscaler.
pub use validation::quantity;

/// The Kubernetes version whose API rkube serves.
pub const KUBERNETES_VERSION: &str = "v1.37.0";
pub const KUBERNETES_MAJOR: &str = "1";
pub const KUBERNETES_MINOR: &str = "37";
