#!/usr/bin/env bash
# The GPU measurements of docs/benchmarks.md ("Owed"), prepared as one run for a GPU machine.
#
#   bash benchmarks/device_checks.sh OUT [SECTION ...]     # on the GPU machine; stops after DEADLINE seconds
#   SMALL=1 bash benchmarks/device_checks.sh /tmp/dc         # a dry run at tiny sizes on any CPU (~4 minutes on 2)
#
# On a remote GPU machine (docs/benchmarks.md, "Measuring on a GPU machine"): copy .whl (decord2 and av
# wheels) along with the working tree and run  python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl &&
#          PYTHONPATH=/tmp/site bash benchmarks/device_checks.sh $OUT
#
# Sections, in this order (default: all): env throughput pretrain loader extract memory others compile jpeg.
#   throughput  benchmarks/throughput.py with its defaults: the three backbones, published style vs clipcop
#   pretrain    `clipcop pretrain` R3D at the paper's size from cached 320x240 AVI files, ~300 steps of 64
#   loader      benchmarks/load_tuples.py on all cores: published pipeline, decord, raw cache, JPEG store (CPU and
#               nvJPEG decoding), JPEG decoders per tuple
#   extract     `clipcop extract` over a UCF101-sized set (13,320 videos x 10 clips), decoding the files
#   memory      clipcop's training step at 8..256 tuples per batch: tuples/s and peak GPU memory
#   others      `clipcop pretrain` C3D and R(2+1)D, ~90 steps each, same data as `pretrain`
#   compile     R3D at 128 tuples per batch, eager vs torch.compile, with the compile time
#   jpeg        `clipcop pretrain` R3D as in `pretrain`, from the JPEG store: --decode-on cpu, then cuda (nvJPEG)
# Everything printed goes to OUT/checks.log, and each pretraining run's metrics to OUT/metrics-ARCH.jsonl. A
# section that fails or runs past its time is reported and the next one runs; sections not reached within
# DEADLINE seconds (default 540) are skipped: name them in a second call. Work files go to WORK (default
# /tmp/clipcop-device; the training set's frame cache takes ~12 GB there). decord and av must be importable.
set -uo pipefail

out=${1:?usage: device_checks.sh OUT [SECTION ...]}
shift
sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(env throughput pretrain loader extract memory others compile jpeg)
here=$(cd "$(dirname "$0")" && pwd)
work=${WORK:-/tmp/clipcop-device}
deadline=$((SECONDS + ${DEADLINE:-540}))
cores=$(nproc)
workers=$((cores > 2 ? cores - 2 : 1))
mkdir -p "$out" "$work"
log=$out/checks.log
export PYTHONUNBUFFERED=1 PYTHONPATH="$here/../src${PYTHONPATH:+:$PYTHONPATH}"
clipcop() { python3 -m clipcop "$@"; }

if [ "${SMALL:-0}" = 1 ]; then  # tiny sizes: checks the script itself, not the speed
    bench="--device cpu --width 8 --clip-len 4 --crop 28 --steps 2 --warmup 2" sweep="4 8" big=8
    geometry="--width 8 --cl 4 --resize 32x43 --crop 28" interval=2 resize=32x43 batch=8
    frames=70 sources=4 videos=300 train_videos=120 loader="--seconds 2 --videos 6 --frames 70"
else
    bench="" sweep="8 16 32 64 128 256" big=128
    geometry="--width 64 --cl 16 --resize 128x171 --crop 112" interval=8 resize=128x171 batch=64
    frames=150 sources=64 videos=13320 train_videos=1200 loader="--seconds 10 --videos 24"
fi
ucf=$work/ucf-sized train=$work/train-sized
export here work out cores workers bench geometry interval resize batch frames sources videos train_videos ucf train

run() {  # run SECTION BUDGET_SECONDS COMMAND...: log, time limit, never stop the script
    local name=$1 budget=$2 left=$((deadline - SECONDS))
    shift 2
    if [ "$left" -lt 20 ]; then
        echo "== $name: skipped, ${left}s left of DEADLINE" | tee -a "$log"
        return 1
    fi
    [ "$budget" -gt "$left" ] && budget=$left
    echo "== $name (at most ${budget}s)" | tee -a "$log"
    local start=$SECONDS
    timeout --signal=INT --kill-after=15 "$budget" bash -c '"$@"' _ "$@" 2>&1 | tee -a "$log"
    local rc=${PIPESTATUS[0]}
    echo "== $name: exit $rc after $((SECONDS - start))s" | tee -a "$log"
    return "$rc"
}

summarise() {  # summarise RUN_DIR: steady-state throughput of a pretraining run (first epoch left out)
    python3 - "$1" <<'EOF'
import json, sys
from pathlib import Path
rows = [json.loads(line) for line in (Path(sys.argv[1]) / "metrics.jsonl").read_text().splitlines() if line.strip()]
epochs = [r for r in rows if "throughput" in r]
previous = 0
for r in epochs:
    r["steps"], previous = r["step"] - previous, r["step"]
    print(f"epoch {r['epoch']}: {r['steps']} steps, {r['throughput']:.1f} tuples/s, "
          f"compute {r['compute_s']:.1f}s, data wait {r['data_wait_s']:.1f}s of {r['seconds']:.1f}s")
steady = epochs[1:] or epochs
seconds = sum(r["seconds"] for r in steady)
print(f"steady state (epochs {steady[0]['epoch']}-{steady[-1]['epoch']}, training steps only): "
      f"{sum(r['samples'] for r in steady) / seconds:.1f} tuples/s over {sum(r['steps'] for r in steady)} steps; "
      f"compute (GPU busy) {sum(r['compute_s'] for r in steady) / seconds:.0%}, "
      f"loader wait {sum(r['data_wait_s'] for r in steady) / seconds:.0%} of the time")
EOF
}

section_env() {
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
    python3 -c "import torch, clipcop; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(),
        torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu', 'clipcop', clipcop.__version__)"
    python3 -c "import decord, av; print('decord', decord.__version__, 'av', av.__version__)"
    echo "cores $cores, loader workers $workers"; df -h "$work" | tail -1; free -g | head -2
}

section_data() {  # the sources, the 13,320-file set, and a smaller set with a frame cache for training
    python3 "$here/ucf_sized.py" "$ucf" --videos "$videos" --sources "$sources" --frames "$frames" --workers "$cores"
    python3 "$here/ucf_sized.py" "$train" --videos "$train_videos" --sources "$sources" --frames "$frames" \
        --workers "$cores" --sources-dir "$ucf.sources" &&
        clipcop data cache "$train" --resize "$resize" --out "$work/frame-cache" --workers "$cores" --json --quiet &&
        clipcop data cache "$train" --resize "$resize" --out "$work/jpeg-store" --format jpeg --workers "$cores" --json --quiet
}

pretrain() {  # pretrain ARCH EPOCHS [NAME CACHE DECODE_ON]: from the raw cache (or CACHE), steps capped per epoch
    local arch=$1 epochs=$2 name=${3:-$1} cache=${4:-$work/frame-cache} decode_on=${5:-cpu}
    rm -rf "$work/run-$name"
    # shellcheck disable=SC2086  # option strings split on purpose
    clipcop pretrain --data "$train" --arch "$arch" --tl 3 --it "$interval" $geometry --batch-size "$batch" --val-size "$batch" \
        --epochs "$epochs" --workers "$workers" --frame-cache "$cache" --decode-on "$decode_on" --out "$work/run-$name" --json --quiet
    local status=$?
    # A run stopped at its time limit still leaves the epochs it finished: keep and summarise them.
    if [ -s "$work/run-$name/metrics.jsonl" ]; then
        cp "$work/run-$name/metrics.jsonl" "$out/metrics-$name.jsonl" && summarise "$work/run-$name"
    fi
    return $status
}

ensure_data() {  # the data sections below need, made once per machine (a second call may find a fresh one)
    [ -d "$work/run-data-ready" ] || { run data 150 section_data && mkdir -p "$work/run-data-ready"; }
}

export -f clipcop summarise section_env section_data pretrain

# shellcheck disable=SC2086  # option strings split on purpose
for section in "${sections[@]}"; do
    case $section in
    env) run env 60 section_env ;;
    throughput) run throughput 120 python3 "$here/throughput.py" $bench ;;
    pretrain)
        ensure_data
        run pretrain 150 pretrain r3d 25
        ;;
    loader)
        run loader 75 python3 "$here/load_tuples.py" --workers "$workers" $loader --folder "$work/loader-videos"
        ;;
    extract)
        ensure_data
        run extract-index 60 clipcop data index "$ucf" --workers "$cores" --quiet --json
        run extract 200 clipcop extract --random --arch r3d $geometry \
            --data "$ucf" --subset all --clips 10 --batch-size 32 --workers "$workers" --frame-cache off --json \
            --quiet --out "$work/ucf-r3d.safetensors"
        ;;
    memory) run memory 60 python3 "$here/throughput.py" $bench --archs r3d --sweep $sweep ;;
    others)
        ensure_data
        run pretrain-c3d 60 pretrain c3d 7
        run pretrain-r21d 60 pretrain r21d 7
        ;;
    compile) run compile 120 python3 "$here/throughput.py" $bench --archs r3d --batch "$big" --compile ;;
    jpeg)
        ensure_data
        run pretrain-jpeg-cpu 75 pretrain r3d 7 jpeg-cpu "$work/jpeg-store" cpu
        run pretrain-jpeg-cuda 75 pretrain r3d 7 jpeg-cuda "$work/jpeg-store" cuda
        ;;
    *) echo "unknown section $section" ;;
    esac
done
echo "== done in ${SECONDS}s; log in $log" | tee -a "$log"
