//! Label and field selectors, parsed from the query string as
//! kube-apiserver parses them and matched against JSON objects.

pub mod field;
pub mod label;
mod label_parser;

pub use field::FieldSelector;
pub use label::LabelSelector;
