#!/usr/bin/env bash
# The main job on a bundled example: an RNN unrolled over time steps.
# Run by `make demo` (which sets up .venv first); POLYAD may name the CLI.
set -euo pipefail
polyad=${POLYAD:-polyad}
kernel=${1:-examples/rnn.c}
out=build/demo
mkdir -p "$out"

echo "== 1. the polyhedral model of $kernel (first statements)"
"$polyad" show "$kernel" | head -n 24
echo
echo "== 2. the tape plan: which forward values the reverse sweep needs, and why"
"$polyad" show --tape "$kernel"
echo
echo "== 3. the gradient as C: $out/$(basename "${kernel%.c}")_b.c (reverse sweep shown)"
"$polyad" grad "$kernel" -o "$out/$(basename "${kernel%.c}")_b.c"
grep -n -A 12 "adjoint of line" "$out/$(basename "${kernel%.c}")_b.c" | head -n 28
echo
echo "== 4. compiled and checked against independent oracles (exact tape)"
"$polyad" check "$kernel"
echo
echo "== 5. the same with the stack tape that Enzyme and Tapenade would keep"
"$polyad" check "$kernel" --strategy stack
