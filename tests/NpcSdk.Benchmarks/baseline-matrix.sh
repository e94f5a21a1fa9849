#!/usr/bin/env bash
# Benches the BASELINE.md rows (llama-110m, qwen2-0.5b, llama3.2-1b x Q8_0, Q4_0, Q4_K_M, plus the NPC model) with
# `npcsdk bench` on both kernel backends at 1 and 2 threads, and prints each number as a ratio of llama.cpp's.
# Usage: tests/NpcSdk.Benchmarks/baseline-matrix.sh [BASELINE.md] [MODEL_DIR]
# Synthetic models are written to MODEL_DIR (default /tmp/npcsdk-synth) once and reused. Needs a quiet machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
baseline="${1:-$root/../shared/bench/BASELINE.md}"
dir="${2:-/tmp/npcsdk-synth}"
mkdir -p "$dir"
dotnet build "$root/src/NpcSdk.Cli" -c Release -v q -nologo >/dev/null
cli=(dotnet "$root/src/NpcSdk.Cli/bin/Release/net10.0/npcsdk.dll")
out="$dir/results.jsonl"
: > "$out"
for shape in llama-110m qwen2-0.5b llama3.2-1b; do
  for type in Q8_0 Q4_0 Q4_K_M; do
    file="$dir/$shape-$type.gguf"
    if [ ! -f "$file" ]; then
      "${cli[@]}" bench --synthetic "$shape" --type "$type" --keep "$file" -t 1 -p 0 -n 0 -r 1 >/dev/null
    fi
    "${cli[@]}" bench -m "$file" -t 1,2 -r 3 --backend managed,native --json | sed "s/^/{\"shape\":\"$shape\",\"mix\":\"$type\",\"bench\":/; s/\$/}/" >> "$out"
  done
done
"${cli[@]}" bench -m "$root/models/npc-q8_0.gguf" -t 1,2 -r 5 --backend managed,native --json | sed 's/^/{"shape":"npc-14m","mix":"Q8_0","bench":/; s/$/}/' >> "$out"
python3 - "$baseline" "$out" <<'PY'
import json, re, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"\|\s*(\S+)\s+(\S+)[^|]*\|\s*[\d.]+\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|", line)
    if m:
        name = "npc-14m" if m.group(1) == "npc-14m" else m.group(1)
        rows[(name, m.group(2))] = [float(x) for x in m.groups()[2:]]
print("| model | type | backend | t | pp128 | vs llama.cpp | tg64 | vs llama.cpp | tg / ceiling (GB/s) |")
print("|---|---|---|---|---|---|---|---|---|")
for line in open(sys.argv[2]):
    rec = json.loads(line)
    base = rows.get((rec["shape"], rec["mix"]))
    for r in rec["bench"]["results"]:
        t = r["threads"]
        pp_ref, tg_ref = (base[0 if t == 1 else 1], base[2 if t == 1 else 3]) if base else (None, None)
        ratio = lambda x, ref: f"{x / ref:.2f}x" if ref else "-"
        print(f"| {rec['shape']} | {rec['mix']} | {r['backend']} | {t} | {r['pp_tok_s']:.1f} ± {r['pp_sd']:.1f} | {ratio(r['pp_tok_s'], pp_ref)} "
              f"| {r['tg_tok_s']:.1f} ± {r['tg_sd']:.1f} | {ratio(r['tg_tok_s'], tg_ref)} | {r['ceiling_fraction'] * 100:.0f} % ({r.get('ceiling_GBps', 0):.1f}) |")
runs = [json.loads(l)["bench"] for l in open(sys.argv[2])]
print("\nread bandwidth per run (GB/s, 1 / 2 threads): " + ", ".join(f"{b['bandwidth_GBps']['1']:.1f}/{b['bandwidth_GBps']['2']:.1f}" for b in runs))
huge = [b["bandwidth_huge_pages_GBps"] for b in runs if "bandwidth_huge_pages_GBps" in b]
if huge:
    # The ceiling of rows whose weights sit on 2 MiB pages (their huge_pages is true).
    print("through 2 MiB pages (the ceiling of weights held on them): " + ", ".join(f"{b['1']:.1f}/{b['2']:.1f}" for b in huge))
PY
