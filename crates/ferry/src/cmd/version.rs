pub fn run() {
    println!("ferry v{}", env!("CARGO_PKG_VERSION"));
    println!("- os/type: {}", std::env::consts::OS);
    println!("- os/arch: {}", std::env::consts::ARCH);
    println!("- go/version: none (ferry is written in Rust)");
}
