//! Records, for the results' provenance record, the compiler version and the commit the
//! binary is built from (with whether the code differed from it), so a record names the
//! code that ran even if the tree changes while a sweep runs.
use std::process::Command;

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = output(&rustc, &["--version"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=HOGWILD_RUSTC_VERSION={version}");

    // The code: the workspace's crates and lock file (harness.toml is data, hashed
    // separately in the record).
    let commit = output("git", &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = output(
        "git",
        &[
            "status",
            "--porcelain",
            "--",
            "../../crates",
            "../../Cargo.toml",
            "../../Cargo.lock",
        ],
    )
    .is_some_and(|s| !s.is_empty());
    // Without git metadata (a tarball, a copy of the tree) the code cannot be named by a
    // commit: treat it as modified, so its records carry a hash of the binary and are never
    // taken for another build's.
    let dirty = dirty || commit == "unknown";
    println!("cargo:rustc-env=HOGWILD_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=HOGWILD_GIT_DIRTY={dirty}");
    // Rerun when the commit or the code changes (a directory is watched recursively; a
    // missing path would make cargo rerun this on every build, so only existing ones).
    for path in [
        "build.rs",
        "../../crates",
        "../../Cargo.toml",
        "../../Cargo.lock",
        "../../.git/HEAD",
        "../../.git/index",
        "../../.git/refs/heads",
        "../../.git/packed-refs",
    ]
    .into_iter()
    .filter(|p| std::path::Path::new(p).exists())
    {
        println!("cargo:rerun-if-changed={path}");
    }
}
