#!/usr/bin/env bash
# Cross-compiles libnpcsdk_native and its C tests for ARM64 (the NEON path) and runs the tests under qemu-user: once
# for baseline ARMv8.0 (build-aarch64, what ships) and once for armv8.2-a+dotprod (build-aarch64-dotprod), where the
# kernels that have a dotprod form (interleaved Q4_0, Q4_K and Q5_0) take it.
# Installs nothing: it needs Debian's gcc-aarch64-linux-gnu (brings the arm64 libc) and qemu-user
# (or qemu-user-static), plus cmake.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$here/build-aarch64"

missing=()
command -v cmake >/dev/null 2>&1 || missing+=("cmake (package cmake)")
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || missing+=("aarch64-linux-gnu-gcc (package gcc-aarch64-linux-gnu)")
if ! command -v qemu-aarch64 >/dev/null 2>&1 && ! command -v qemu-aarch64-static >/dev/null 2>&1; then
  missing+=("qemu-aarch64 (package qemu-user or qemu-user-static)")
fi
[ -d /usr/aarch64-linux-gnu/lib ] || missing+=("the arm64 C library in /usr/aarch64-linux-gnu (package libc6-dev-arm64-cross)")
if [ ${#missing[@]} -ne 0 ]; then
  echo "test-aarch64.sh: missing tools:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  echo "install them with: apt-get install -y gcc-aarch64-linux-gnu qemu-user" >&2
  exit 2
fi

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
for variant in baseline dotprod; do
  dir="$build" flags=""
  [ "$variant" = dotprod ] && dir="$build-dotprod" flags="-march=armv8.2-a+dotprod"
  cmake -S "$here" -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="$flags" \
    -DCMAKE_TOOLCHAIN_FILE="$here/cmake/aarch64-linux-gnu.cmake" >/dev/null
  cmake --build "$dir" --parallel
  file_info="$(file -b "$dir/libnpcsdk_native.so" 2>/dev/null || true)"
  [ -n "$file_info" ] && echo "built ($variant): $dir/libnpcsdk_native.so ($file_info)"
  ctest --test-dir "$dir" --output-on-failure
done
