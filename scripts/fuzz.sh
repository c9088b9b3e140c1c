#!/usr/bin/env bash
# Builds every cargo-fuzz target in fuzz/ and runs each one for a short, bounded time from its
# seeds (fuzz/corpus/<target>/seed-*). What a run finds is left in fuzz/artifacts/<target>/ and
# the script fails. Needs a nightly toolchain (`cargo +nightly`); without one it says so and
# exits 0. docs/FUZZING.md has the long runs and what they found.
#
#   scripts/fuzz.sh            # every target, 10 s each
#   scripts/fuzz.sh 60         # every target, 60 s each
#
# Environment:
#   FUZZ_TARGETS           space-separated targets to run instead of all of them
#   FUZZ_RUNS              stop each target after this many executions instead of a time
#   FUZZ_SANITIZER         cargo fuzz --sanitizer (default none: 5-10x the executions of
#                          address; use address for leak and memory-error checks)
#   FUZZ_TARGET_DIR        build directory (default ~/.cache/socketio-fuzz-target[-<sanitizer>])
#   FUZZ_LOG_DIR           where each target's libFuzzer output goes (default a temp dir)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/fuzz"

SECONDS_PER_TARGET="${1:-10}"
SANITIZER="${FUZZ_SANITIZER:-none}"
if [ "$SANITIZER" = none ]; then
    DEFAULT_DIR="$HOME/.cache/socketio-fuzz-target"
else
    DEFAULT_DIR="$HOME/.cache/socketio-fuzz-target-$SANITIZER"
fi
TARGET_DIR="${FUZZ_TARGET_DIR:-$DEFAULT_DIR}"
LOG_DIR="${FUZZ_LOG_DIR:-$(mktemp -d)}"
mkdir -p "$LOG_DIR"

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: skipped, no nightly toolchain (cargo +nightly); install one with"
    echo "      'rustup toolchain install nightly' to run the fuzz targets"
    exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

ALL_TARGETS="$(cargo +nightly fuzz list)"
TARGETS="${FUZZ_TARGETS:-$ALL_TARGETS}"

echo "fuzz: building ($SANITIZER sanitizer) in $TARGET_DIR"
nice -n 10 cargo +nightly fuzz build --sanitizer "$SANITIZER" --target-dir "$TARGET_DIR"
BIN_DIR="$TARGET_DIR/x86_64-unknown-linux-gnu/release"

if [ -n "${FUZZ_RUNS:-}" ]; then
    BOUND="-runs=$FUZZ_RUNS"
else
    BOUND="-max_total_time=$SECONDS_PER_TARGET"
fi

failed=()
for target in $TARGETS; do
    corpus="corpus/$target"
    artifacts="artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    log="$LOG_DIR/$target.log"
    start=$SECONDS
    # The seeds are read with the corpus; -rss_limit_mb and -timeout make a memory blow-up or
    # an input slower than a second a finding, like a crash.
    if nice -n 10 "$BIN_DIR/$target" "$corpus" "$BOUND" -rss_limit_mb=2048 -timeout=1 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        failed+=("$target")
    fi
    done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)"
    printf 'fuzz: %-28s %-6s %4ss  %s\n' "$target" "$status" "$((SECONDS - start))" \
        "${done_line:-(no final line)}"
    if [ "$status" = FAILED ]; then
        grep -E 'panicked at|^(thread|assertion)|SUMMARY|Test unit written' "$log" | head -8 || true
        echo "fuzz: full output in $log"
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]} (inputs in fuzz/artifacts/<target>/; rerun one with"
    echo "      cargo +nightly fuzz run --sanitizer $SANITIZER <target> <artifact>)"
    exit 1
fi
echo "fuzz: all targets ok (logs in $LOG_DIR)"
