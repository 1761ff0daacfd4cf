#!/usr/bin/env bash
# The long fuzzing campaign: every file parser (binvox, OBJ, OFF, STL, PLY, PNG, HDF5,
# program text and JSON, checkpoint config.json and burn records) gets ROAP_FUZZ_CASES
# mutated inputs (default 10^6). Prints one JSON line per parser (cases, execs/s, panics,
# hangs over 5 s); inputs that fail are saved and named in the test's failure message.
# CI runs the short campaign (`every_parser_survives_mutated_files`) inside `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/roap-target}"
export ROAP_FUZZ_CASES="${ROAP_FUZZ_CASES:-1000000}"
cargo test --workspace --test fuzz_parsers fuzz_campaign -- --ignored --nocapture
