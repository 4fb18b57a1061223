#!/usr/bin/env bash
# One prepared run on a GPU machine (CuPy present): GPU/CPU throughput benchmark, then
# the large-N decisive experiment. Results go to $OUT (or benchmarks/results/gpu).
# Each stage has its own time limit; the experiment saves after every block.
set -u
OUT=${OUT:-benchmarks/results/gpu}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PY:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee "$OUT/device.txt"
$PY -c "import numpy, scipy, numba, cupy; print('numpy', numpy.__version__, 'scipy', scipy.__version__, 'numba', numba.__version__, 'cupy', cupy.__version__)" 2>&1 | tee -a "$OUT/device.txt"
nproc | tee -a "$OUT/device.txt"
timeout ${BENCH_S:-110} $PY benchmarks/bench_langevin.py --N 1000 2000 4000 8000 --replicas 4 \
    --backend both --steps 20 --reps 2 --out "$OUT/langevin_gpu.json" 2>&1 | tail -n 12
timeout ${EXP_S:-330} $PY benchmarks/decisive_experiment.py --backend cupy --N ${EXP_N:-4000 8000 1000} \
    --steps ${EXP_STEPS:-40000} --thin 50 --out "$OUT/decisive_experiment_gpu.json" \
    --figure "$OUT/decisive_experiment_gpu.png" 2>&1 | tail -n 40
ls -la "$OUT"
