#!/usr/bin/env bash
# Training and top-10 throughput of genrec's HSTU beside PyTorch's, in one run on this machine.
# Go: models/hstu BenchmarkTrainStep / BenchmarkTopK (forward + sampled softmax with 128 negatives at
# every position + backward + AdamW; full-length sequences). PyTorch: bench/hstu_torch.py, the same
# model and step, 2 threads. Usage: bench/compare.sh (make bench-train sets GO and TAGS).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
TAGS=${TAGS:-}
THREADS=${THREADS:-2}
export OPENBLAS_NUM_THREADS=1
tagflag=()
[ -n "$TAGS" ] && tagflag=(-tags "$TAGS")
echo "== genrec (Go, BLAS: ${TAGS:-pure-Go gonum}, GOMAXPROCS=$THREADS)"
GOMAXPROCS=$THREADS "$GO" test "${tagflag[@]}" -run '^$' -bench 'TrainStep|TopK' -benchtime 5x ./models/hstu/ | tee /tmp/genrec-bench-go.txt | grep -E '^Benchmark'
PY=
for p in "${GENREC_PYTHON:-}" /usr/bin/python3 python3; do
  if [ -n "$p" ] && "$p" -c 'import torch' >/dev/null 2>&1; then PY=$p; break; fi
done
if [ -z "$PY" ]; then
  echo "== PyTorch: no python3 with torch (make deps installs python3-torch), comparison skipped"
  exit 0
fi
echo "== PyTorch $("$PY" -c 'import torch; print(torch.__version__)') ($THREADS threads, OpenBLAS 1 thread)"
# torch's own pool and OpenBLAS's would compete for the cores: OpenBLAS single-threaded is
# PyTorch's fastest setting here (bench/README.md), as it is the Go side's.
py() { "$PY" bench/hstu_torch.py bench --threads "$THREADS" --blas-threads 1 "$@"; }
beauty=(--batch 128 --len 50 --dim 64 --layers 2 --heads 1 --dqk 64 --dv 64 --items 12102 --negatives 128 --dropout 0.5)
ml1m=(--batch 128 --len 200 --dim 50 --layers 2 --heads 1 --dqk 50 --dv 50 --items 3707 --negatives 128 --dropout 0.2)
pt_b=$(py --model hstu "${beauty[@]}" --steps 10 --warmup 2 | tail -1)
pt_m=$(py --model hstu "${ml1m[@]}" --steps 5 --warmup 1 | tail -1)
pt_bi=$(py --model hstu "${beauty[@]}" --inference --steps 5 --warmup 1 | tail -1)
pt_mi=$(py --model hstu "${ml1m[@]}" --inference --steps 5 --warmup 1 | tail -1)
field() { python3 -c 'import json,sys; print(round(json.loads(sys.argv[1])[sys.argv[2]]))' "$1" "$2"; }
gofig() { awk -v pat="$1" -v unit="$2" '$1 ~ pat { for (i = 1; i < NF; i++) if ($(i+1) == unit) { printf "%d", $i; exit } }' /tmp/genrec-bench-go.txt; }
printf '\n%-28s %12s %12s %7s\n' "throughput ($THREADS cores)" "genrec" "PyTorch" "ratio"
row() { printf '%-28s %12s %12s %7s\n' "$1" "$2" "$3" "$(python3 -c "print(f'{$2/$3:.2f}x')")"; }
row "train beauty (seq/s)" "$(gofig 'TrainStep/beauty' seq/s)" "$(field "$pt_b" seq_per_s)"
row "train ml-1m (seq/s)" "$(gofig 'TrainStep/ml-1m' seq/s)" "$(field "$pt_m" seq_per_s)"
row "top-10 beauty (users/s)" "$(gofig 'TopK/beauty' users/s)" "$(field "$pt_bi" users_per_s)"
row "top-10 ml-1m (users/s)" "$(gofig 'TopK/ml-1m' users/s)" "$(field "$pt_mi" users_per_s)"
