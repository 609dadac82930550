//! Behaviour every backend keeps, checked through the `Backend` trait against each
//! backend's real server (local disk, the testbed's SFTP, S3 and Azure Blob servers).
//! Test names are `conformance::<type>::<case>`, so `cargo test conformance -- --list`
//! shows each backend's coverage. A case a backend doesn't declare the capability for
//! passes without doing anything, and says so.

mod conformance;
