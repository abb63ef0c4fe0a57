#!/usr/bin/env bash
# The main job on a bundled example: an RNN unrolled over time steps.
# Run by `make demo` (which sets up .venv first); POLYAD may name the CLI and
# PYTHON the interpreter polyad is installed in. About 15 s.
set -euo pipefail
polyad=${POLYAD:-polyad}
python=${PYTHON:-python3}
kernel=${1:-examples/rnn.c}
name=$(basename "${kernel%.c}")
here=$(cd "$(dirname "$0")/.." && pwd)
out=build/demo
mkdir -p "$out"

# Print a command as a user would type it (the CLI as `polyad`, the
# interpreter as `python`, paths from the checkout), then run it.
run() {
  local shown=() word
  for word in "$@"; do
    case $word in
      "$polyad") word=polyad ;;
      "$python") word=python ;;
      "$here"/*) word=${word#"$here"/} ;;
    esac
    [[ $word == *[\ \'\(\;]* ]] && word="\"$word\""
    shown+=("$word")
  done
  echo "\$ ${shown[*]}"
  "$@"
}

echo "== 1. the model: what polyad read from $kernel"
run "$python" -c "import polyad; print(polyad.parse('$kernel'))"
echo
echo "   and its last statement as isl sets and maps (polyad show prints every one so):"
"$polyad" show "$kernel" | awk '/^    S[0-9]+  line/ { last = "" } /^    S[0-9]+  line/, 0 { last = last $0 "\n" }
                                END { printf "%s", last }'
echo
echo "== 2. the tape plan: which forward values the reverse sweep needs, and why"
run "$polyad" show --tape "$kernel"
echo
echo "== 3. the gradient as C: the whole function of $out/${name}_b.c"
run "$polyad" grad "$kernel" -o "$out/${name}_b.c"
sed -n "/^int ${name}_b(/,/^}/p" "$out/${name}_b.c"
echo
echo "== 4. compiled and checked against independent oracles"
run "$polyad" check "$kernel"
echo
echo "== 5. the speed: gradient against the primal and against JAX (medium sizes)"
run "$python" "$here/bench/compare.py" "$kernel" --dataset medium
echo
echo "(polyad bench $kernel times every variant; make bench adds JAX and Enzyme for"
echo " every example in examples/: docs/benchmarks.md)"
