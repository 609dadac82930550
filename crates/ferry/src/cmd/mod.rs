pub mod check;
pub mod transfer;
pub mod version;
