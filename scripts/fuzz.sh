#!/usr/bin/env bash
# `make fuzz`: each fuzz target for FUZZ_TIME seconds (default 60) on nightly, from its seeds and
# with its dictionary (fuzz/dicts/<target>.dict). FUZZ_TARGETS="a b" picks targets. New inputs go
# to fuzz/corpus/<target>/ (git-ignored), crashes to fuzz/artifacts/<target>/, which is committed
# once the bug is fixed: core/tests/fuzz_replay.rs replays it in `make test` from then on.
# Fails if any target finds a crash, after running the others.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

time="${FUZZ_TIME:-60}"
# An input slower than this is a finding too (libFuzzer's default waits 20 minutes).
unit_timeout="${FUZZ_UNIT_TIMEOUT:-25}"
targets="${FUZZ_TARGETS:-$(ls fuzz_targets | sed -n 's/\.rs$//p')}"

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "==> installing the nightly toolchain (cargo-fuzz needs it for the sanitizer flags)"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

for t in $targets; do
  if [ ! -f "fuzz_targets/$t.rs" ]; then
    echo "no fuzz target $t (fuzz/fuzz_targets/)" >&2
    exit 2
  fi
done

echo "==> building the targets (cargo +nightly fuzz build)"
cargo +nightly fuzz build

logs=target/fuzz-logs
mkdir -p "$logs"
failed=()
for t in $targets; do
  echo "==> $t for ${time}s (log: fuzz/$logs/$t.log)"
  mkdir -p "corpus/$t"
  # The first directory receives new inputs; the seeds are only read.
  if cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- \
    -dict="dicts/$t.dict" -max_total_time="$time" -timeout="$unit_timeout" \
    -print_final_stats=1 >"$logs/$t.log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$t")
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$t.log" | tail -1)
  cov=$(grep -E '^#[0-9]+.* cov: ' "$logs/$t.log" | tail -1 |
    sed -E 's/.*(cov: [0-9]+ ft: [0-9]+ corp: [^ ]+).*/\1/')
  echo "    $t: $status, ${execs:-?} executions (${speed:-?}/s), ${cov:-no coverage line}"
  if [ "$status" = FAILED ]; then
    # The panic and its message (the line after), libFuzzer's verdict, and where the input is.
    grep -E -A1 'panicked at' "$logs/$t.log" | head -4 | sed 's/^/    /'
    grep -E '^(==[0-9]+== ERROR|SUMMARY|artifact_prefix)' "$logs/$t.log" | head -6 | sed 's/^/    /'
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]} (inputs in fuzz/artifacts/<target>/)" >&2
  exit 1
fi
