#!/usr/bin/env bash
# Two pinnkan runs on one machine: the README's spin-policy table.
#   scripts/two_jobs.sh LABEL [VAR=VALUE ...]
# runs `pinnkan solve poisson --optimizer adam+lbfgs --steps 300` once alone, then twice at the same
# time, each with the given environment (e.g. GOMP_SPINCOUNT=300000 or OMP_WAIT_POLICY=PASSIVE), and
# prints the wall seconds and training seconds of each. Run it from the repository root, after `make setup`.
set -euo pipefail
label=${1:?usage: scripts/two_jobs.sh LABEL [VAR=VALUE ...]}
shift
bin=${PINNKAN:-.venv/bin/pinnkan}
tmp=$(mktemp -d)
job() {  # job NAME [VAR=VALUE ...]: wall seconds of one run; its output goes to $tmp/NAME.log
    local name=$1 start end
    shift
    start=$(date +%s.%N)
    env "$@" PINNKAN_NO_PROGRESS=1 "$bin" solve poisson --optimizer adam+lbfgs --steps 300 --out "$tmp/$name" \
        >"$tmp/$name.log" 2>&1
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.1f}')"
}
training() { grep -o '[0-9.]* s training' "$tmp/$1.log" | tail -1; }
alone=$(job alone "$@")
echo "$label alone: ${alone} s wall ($(training alone))"
job first "$@" >"$tmp/first.t" &
job second "$@" >"$tmp/second.t" &
wait
echo "$label together: $(cat "$tmp/first.t") s and $(cat "$tmp/second.t") s wall ($(training first), $(training second))"
rm -rf "$tmp"
