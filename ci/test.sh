#!/usr/bin/env bash
# The project's one test command (README, .ci/run): formatting, lints, then every test.
# Everything builds once, in the release profile (polars is slow to build; a second profile
# would build it twice).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --release --workspace --all-targets --locked -- -D warnings
cargo bench --workspace --locked --no-run
cargo test --release --workspace --locked
