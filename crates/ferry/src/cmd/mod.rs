pub mod check;
pub mod config;
pub mod transfer;
pub mod version;
