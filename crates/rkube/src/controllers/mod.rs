//! Control loops that need the server's own secrets (the service-account
//! signing key), and so run beside the API server rather than in
//! `rkube-controllers`, which holds only what any API client could run.

pub mod token;
