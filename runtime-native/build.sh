#!/usr/bin/env bash
# Configures and builds libnpcsdk_native (Release) into runtime-native/build and prints the path of the library
# (the only line on stdout; the build's own output goes to stderr).
# Usage: runtime-native/build.sh [--test]   (--test also runs the C tests with ctest)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="$here/build"
command -v cmake >/dev/null 2>&1 || { echo "build.sh: cmake is not installed (package cmake)" >&2; exit 2; }
# One build at a time per folder: MSBuild builds NpcSdk.Runtime for two target frameworks in parallel.
if [ -z "${NPC_NATIVE_BUILD_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
  mkdir -p "$build"
  export NPC_NATIVE_BUILD_LOCKED=1
  exec flock "$build/.lock" bash "$here/build.sh" "$@"
fi
generator=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi
cmake -S "$here" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >&2
cmake --build "$build" --parallel >&2
if [ "${1:-}" = "--test" ]; then
  ctest --test-dir "$build" --output-on-failure >&2
fi
for name in libnpcsdk_native.so libnpcsdk_native.dylib npcsdk_native.dll; do
  if [ -f "$build/$name" ]; then echo "$build/$name"; exit 0; fi
done
echo "build.sh: the library was not produced in $build" >&2
exit 1
