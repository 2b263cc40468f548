//! One module per subcommand.

pub mod bench;
pub mod components;
pub mod migrate;
pub mod server;
