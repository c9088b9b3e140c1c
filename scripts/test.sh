#!/usr/bin/env bash
# The project's one test command: installs what the interop tests need (npm packages, a Python
# virtualenv, redis-server, rabbitmq-server, chromium), then runs formatting, lints, the example
# build and every test.
#
#   scripts/test.sh            # from any directory
#
# Environment:
#   CARGO_TARGET_DIR     honoured by every cargo step (CI points it at a cache outside the clone)
#   SOCKETIO_TEST_VENV   the virtualenv to use instead of <repo>/.venv (the tests read it too)
#   FUZZ_SECONDS         how long each fuzz target runs (default 8; see scripts/fuzz.sh)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

START=$SECONDS
section() {
    printf '\n==== %s (+%ss) ====\n' "$*" "$((SECONDS - START))"
}

# sha256 of the given files, used as a stamp: an install step reruns when its inputs change.
fingerprint() {
    cat "$@" | sha256sum | cut -d' ' -f1
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        sudo "$@"
    fi
}

section "npm packages (package-lock.json)"
NPM_STAMP="node_modules/.socketio-test-stamp"
npm_wanted="$(fingerprint package.json package-lock.json)"
if [ -d node_modules ] && [ "$(cat "$NPM_STAMP" 2>/dev/null)" = "$npm_wanted" ]; then
    echo "node_modules is up to date"
else
    npm ci --no-audit --no-fund
    echo "$npm_wanted" >"$NPM_STAMP"
fi

section "Python virtualenv (tests/python/requirements.txt)"
VENV="${SOCKETIO_TEST_VENV:-$ROOT/.venv}"
VENV_STAMP="$VENV/.socketio-test-stamp"
venv_wanted="$(fingerprint tests/python/requirements.txt)"
# A virtualenv whose interpreter no longer runs (Python moved or upgraded) is rebuilt.
if [ -d "$VENV" ] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    echo "$VENV is broken; recreating it"
    rm -rf "$VENV"
fi
if [ -x "$VENV/bin/python" ] && [ "$(cat "$VENV_STAMP" 2>/dev/null)" = "$venv_wanted" ]; then
    echo "$VENV is up to date"
else
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet \
        -r tests/python/requirements.txt
    echo "$venv_wanted" >"$VENV_STAMP"
fi

section "redis-server"
if command -v redis-server >/dev/null 2>&1; then
    echo "found $(command -v redis-server)"
else
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server
fi

# The AMQP cluster tests need a broker at amqp://guest:guest@127.0.0.1:5672/ (the guest user may
# only log in from localhost, which is all they use). One already running is used as it is.
section "rabbitmq-server (127.0.0.1:5672)"
amqp_answers() {
    timeout 2 bash -c ': </dev/tcp/127.0.0.1/5672' 2>/dev/null
}
if amqp_answers; then
    echo "a broker answers on 127.0.0.1:5672"
else
    if ! command -v rabbitmq-server >/dev/null 2>&1; then
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rabbitmq-server
    fi
    # Installing the package may have started it already.
    if ! amqp_answers; then
        # Detached, with no handle on this script's output (nothing must hold the CI log open).
        RABBITMQ_LOG="${TMPDIR:-/tmp}/socketio-test-rabbitmq.log"
        as_root rabbitmq-server -detached >"$RABBITMQ_LOG" 2>&1 </dev/null || true
        # `rabbitmq-diagnostics -q ping` can answer before the AMQP listener is up: wait for the
        # port itself.
        deadline=$((SECONDS + 60))
        until amqp_answers; do
            if [ "$SECONDS" -ge "$deadline" ]; then
                echo "rabbitmq-server did not listen on 127.0.0.1:5672 within 60 s:" >&2
                cat "$RABBITMQ_LOG" >&2
                exit 1
            fi
            sleep 1
        done
    fi
    echo "rabbitmq-server answers on 127.0.0.1:5672"
fi

# The chat example's test drives its page in Debian's Chromium through playwright-core;
# Playwright's own browser download is not used (it needs the network at test time).
section "chromium"
if [ -x /usr/bin/chromium ]; then
    echo "found /usr/bin/chromium"
else
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi

section "interop scripts: syntax"
for script in tests/js/*.mjs; do
    node --check "$script"
done
"$VENV/bin/python" -m py_compile tests/python/*.py

echo
echo "cargo target dir: ${CARGO_TARGET_DIR:-$ROOT/target}"

section "cargo fmt --all -- --check"
cargo fmt --all -- --check

section "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

section "cargo doc (rustdoc warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

section "cargo build --workspace --examples"
cargo build --workspace --examples

section "cargo test --workspace"
cargo test --workspace

# Every fuzz target for a few seconds from its seeds (skipped with a message without a nightly
# toolchain); docs/FUZZING.md records the long runs.
section "fuzz (short runs)"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-8}"

section "done"
