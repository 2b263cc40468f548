//! The Kubernetes API over HTTPS.
//!
//! A request goes down the layers in this order, each in its own folder:
//! `http` (TLS, request info, negotiation, limits) → `auth` (who is asking)
//! → `handlers` (one file per verb) → `registry` (the generic store plus one
//! strategy per resource) → `rkube_store::Backend`.

pub mod auth;
pub mod bootstrap;
pub mod discovery;
pub mod handlers;
pub mod http;
pub mod openapi;
pub mod registry;
pub mod server;

pub use server::{ApiServer, ServerConfig};
