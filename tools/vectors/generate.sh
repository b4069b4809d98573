#!/usr/bin/env bash
# Regenerates crates/privval/tests/vectors/*.json from CometBFT's Go code.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../crates/privval/tests/vectors"
mkdir -p "$out"
for pair in v034:v0_34 v038:v0_38 v040:v0_40 v1:v1_0; do
  dir="${pair%%:*}"
  name="${pair##*:}"
  (cd "$here/$dir" && go run . >"$out/$name.json.tmp")
  mv "$out/$name.json.tmp" "$out/$name.json"
  echo "wrote $out/$name.json"
done
