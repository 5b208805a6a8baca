//! Generates the gRPC code from the project's own protocol definitions in `proto/`.
//! protoc comes from `protoc-bin-vendored` so that no machine needs it installed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; prost-build reads PROTOC from the env.
    unsafe { std::env::set_var("PROTOC", protoc) };
    let proto_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
    let files = [
        proto_dir.join("tfplugin5.proto"),
        proto_dir.join("go_plugin.proto"),
    ];
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    tonic_prost_build::configure()
        .build_client(true)
        .compile_protos(&files, &[proto_dir])?;
    Ok(())
}
