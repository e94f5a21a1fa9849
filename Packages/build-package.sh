#!/usr/bin/env bash
# Assembles the Unity package from the builds: the netstandard2.1 assemblies of src/ (and their dependencies) into
# Runtime/, the native plugin into Runtime/Plugins/<platform>/. Nothing here is a fork of src/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pkg="$root/Packages/com.npcsdk.core"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
dotnet publish "$root/src/NpcSdk.Agents/NpcSdk.Agents.csproj" -c Release -f netstandard2.1 -o "$out" -p:NpcSdkBuildNative=false >/dev/null
for dll in "$out"/*.dll; do cp "$dll" "$pkg/Runtime/"; done
bash "$root/runtime-native/build.sh" >/dev/null
mkdir -p "$pkg/Runtime/Plugins/x86_64"
cp "$root/runtime-native/build/libnpcsdk_native.so" "$pkg/Runtime/Plugins/x86_64/"
if [ -f "$root/runtime-native/build-aarch64/libnpcsdk_native.so" ]; then
  mkdir -p "$pkg/Runtime/Plugins/arm64"
  cp "$root/runtime-native/build-aarch64/libnpcsdk_native.so" "$pkg/Runtime/Plugins/arm64/"
fi
echo "assembled $pkg/Runtime: $(ls "$pkg/Runtime"/*.dll | wc -l) assemblies, plugins: $(cd "$pkg/Runtime/Plugins" && ls -d */ | tr -d / | tr '\n' ' ')"
