#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (issue 19). Entry points: `build.ps1 fuzz -Target NAME -Seconds N` and .ci/run.
#   fuzz.sh TARGET SECONDS [libFuzzer flags...]   fuzz one target (see `list`); new inputs go to artifacts/fuzz/corpus/TARGET,
#                                                 findings to artifacts/fuzz/findings/TARGET/crash-*
#   fuzz.sh smoke SECONDS                         every target for SECONDS each on the committed corpus (CI); fails on any finding
#   fuzz.sh merge TARGET                          minimize artifacts/fuzz/corpus/TARGET into the committed corpus/TARGET
#   fuzz.sh list                                  target names
# Needs clang with libFuzzer (Debian: clang-14 libclang-rt-14-dev) and the sharpfuzz dotnet tool (dotnet tool restore).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
out="$repo/artifacts/fuzz"
bin="$out/bin"
driver="$out/lb-fuzz-driver"

# What gets instrumented: the parsers (Http covers Http1, whose head writer's output must re-parse, and Http2's HPACK),
# and the config path down to Tomlyn.
core_prefixes=(LoadBalancer.Core.Http LoadBalancer.Core.Transport.ProxyProtocolCodec LoadBalancer.Core.Tenancy.TlsClientHello
               LoadBalancer.Core.Config LoadBalancer.Core.Management.TomlValueWriter LoadBalancer.Core.Management.TomlJson)

# max_len per target: heads and bodies well past a typical request, the PROXY caps, a record, a config file.
max_len() {
  case "$1" in
    proxy-protocol) echo 1100 ;;
    config) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

prepare() {
  local cc
  cc="$(command -v clang || command -v clang-14 || true)"
  if [[ -z "$cc" ]]; then echo "fuzz.sh: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; fi
  (cd "$repo" && dotnet tool restore >/dev/null && dotnet build LoadBalancer.Fuzz -c Release -v q -nologo >/dev/null)
  # A fresh copy each time: sharpfuzz rewrites assemblies in place and refuses one it already instrumented.
  rm -rf "$bin" && mkdir -p "$bin"
  cp -r "$here/bin/Release/net10.0/." "$bin/"
  (cd "$repo" && dotnet sharpfuzz "$bin/LoadBalancer.Core.dll" "${core_prefixes[@]}" >/dev/null && dotnet sharpfuzz "$bin/Tomlyn.dll" >/dev/null)
  if [[ ! -x "$driver" || "$here/driver/lb-fuzz-driver.c" -nt "$driver" ]]; then
    "$cc" -O2 -fsanitize=fuzzer -o "$driver" "$here/driver/lb-fuzz-driver.c"
  fi
}

# run TARGET SECONDS [flags]: the writable corpus first (libFuzzer adds there), the committed one second (read only).
run() {
  local target="$1" seconds="$2"; shift 2
  mkdir -p "$out/corpus/$target" "$out/findings/$target"
  echo "== fuzz $target for ${seconds}s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  LB_FUZZ_DLL="$bin/LoadBalancer.Fuzz.dll" LB_FUZZ_TARGET="$target" DOTNET_TieredPGO=1 \
    "$driver" -max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="$out/findings/$target/" "$@" "$out/corpus/$target" "$here/corpus/$target" 2>&1 \
    | grep -Ev '^#[0-9]+\s+(NEW|REDUCE|pulse)|# Uses: [0-9]+$|Recommended dictionary' | tail -n 40
  return "${PIPESTATUS[0]}"
}

targets() { dotnet "$here/bin/Release/net10.0/LoadBalancer.Fuzz.dll" list; }

case "${1:-}" in
  list) (cd "$repo" && dotnet build LoadBalancer.Fuzz -c Release -v q -nologo >/dev/null); targets ;;
  smoke)
    seconds="${2:-25}"
    prepare
    failed=()
    for target in $(targets); do
      # Replay first, uninstrumented: a committed input that breaks a property fails here with its exception.
      dotnet "$here/bin/Release/net10.0/LoadBalancer.Fuzz.dll" "$target" "$here/corpus/$target" || failed+=("$target (corpus replay)")
      run "$target" "$seconds" || failed+=("$target")
    done
    if (( ${#failed[@]} > 0 )); then
      echo "fuzz smoke: findings in: ${failed[*]} (inputs under artifacts/fuzz/findings/)" >&2
      exit 1
    fi
    echo "fuzz smoke: every target ran ${seconds}s with no finding"
    ;;
  merge)
    target="$2"
    [[ -n "${LB_FUZZ_SKIP_PREPARE:-}" ]] || prepare
    LB_FUZZ_DLL="$bin/LoadBalancer.Fuzz.dll" LB_FUZZ_TARGET="$target" \
      "$driver" -merge=1 -max_len="$(max_len "$target")" "$here/corpus/$target" "$out/corpus/$target"
    ;;
  ''|-h|--help) sed -n '2,9p' "$0"; exit 2 ;;
  *)
    target="$1"; seconds="${2:-60}"; shift 2 || shift $#
    # LB_FUZZ_SKIP_PREPARE=1 reuses the instrumented build, e.g. for a second target started beside a first one.
    [[ -n "${LB_FUZZ_SKIP_PREPARE:-}" ]] || prepare
    run "$target" "$seconds" "$@"
    ;;
esac
