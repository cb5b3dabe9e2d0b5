#!/usr/bin/env bash
# One device call that checks and measures latentroom on a CUDA GPU; results go to $OUT.
#
# What it runs, in order of importance (each stage has its own time limit, so the whole call
# stays under ~8 minutes and what finished is kept when a later stage runs out of time):
#   1. tests   (120 s): tests/test_cuda.py (the CUDA paths against the CPU), tests/test_devices.py,
#                       tests/test_cli_devices.py                          -> $OUT/tests.txt
#   2. codecs  (180 s): benchmarks/codec_speed.py --device cuda, every codec, float32 + bfloat16,
#                       30 s of noise, median of 3                        -> $OUT/codec_speed.md
#   3. train   ( 60 s): benchmarks/train_speed.py on cuda (40 steps) and cpu (4 steps)
#                                                                          -> $OUT/train_speed.md
#   4. analysis(120 s): benchmarks/analysis_speed.py --phases 1 --device cuda on
#                       $ANALYSIS_FRAMES x 512 frames (default 3 x 10^5) -> $OUT/analysis_speed.md
#   plus $OUT/env.txt (GPU, driver, package versions) and $OUT/log.txt (stderr of every stage).
#
# The issue-13 target (Phase 1 on 10^7 x 512 in <= 120 s) needs its own call: building that
# 20 GB corpus alone takes minutes. Run it as
#   STAGES=analysis ANALYSIS_FRAMES=10000000 ANALYSIS_LIMIT=540 bash benchmarks/gpu_check.sh
#
# The GPU machine (see shared/reference/gpu-device.md: Python 3.12, torch 2.11+cu130,
# transformers 5.17, no network) lacks some of latentroom's dependencies. Ship them as wheels in
# .whl/ at the repository root (add "/.whl/" to .git/info/exclude, pass carry: [".whl"]):
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
#     --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
#     soundfile==0.14.0 soxr==1.1.0 cffi==2.1.1 pycparser==3.12 diffusers==0.42.1 \
#     importlib_metadata==10.2.0 zarr==3.1.6 numcodecs==0.16.6 donfig==0.8.1.post1 \
#     google-crc32c==1.9.0 pytest==9.2.0 pluggy==1.7.0 iniconfig==2.3.1
#   (soundfile/soxr/cffi/pycparser: audio I/O and resampling; diffusers + importlib_metadata:
#   acestep-vae; zarr/numcodecs/donfig/google-crc32c: corpus stores; pytest/pluggy/iniconfig:
#   the tests. PyYAML, packaging, Pygments and typing_extensions are already there.)
# Then, in one device call (timeout_s 540 leaves room for the start-up):
#   run(command="bash benchmarks/gpu_check.sh", carry=[".whl"], timeout_s=540)
set -u
OUT="${OUT:-$PWD/gpu_check_out}"
STAGES="${STAGES:-tests,codecs,train,analysis}"
ANALYSIS_FRAMES="${ANALYSIS_FRAMES:-300000}"
ANALYSIS_LIMIT="${ANALYSIS_LIMIT:-120}"
mkdir -p "$OUT"
LOG="$OUT/log.txt"

site=$(mktemp -d)
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target "$site" .whl/*.whl \
        >>"$LOG" 2>&1 || echo "wheel install failed (see above)" >>"$LOG"
else
    echo "no .whl/ folder: using the packages already installed" >>"$LOG"
fi
export PYTHONPATH="$site:$PWD/src:$PWD/tests${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 MPLBACKEND=Agg

{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
    python3 - <<'PY'
import importlib, platform
print("python", platform.python_version())
for name in ("torch", "transformers", "diffusers", "huggingface_hub", "numpy", "zarr", "pytest"):
    try:
        module = importlib.import_module(name)
        print(name, getattr(module, "__version__", "?"))
    except ImportError as err:
        print(name, "missing:", err)
import torch
print("cuda available", torch.cuda.is_available(), "devices", torch.cuda.device_count())
print("cudnn.allow_tf32", torch.backends.cudnn.allow_tf32,
      "matmul.allow_tf32", torch.backends.cuda.matmul.allow_tf32)
PY
} >"$OUT/env.txt" 2>&1

stage() {  # stage NAME SECONDS OUTFILE COMMAND...: run COMMAND under a time limit into OUTFILE
    local name=$1 limit=$2 outfile=$3
    shift 3
    case ",$STAGES," in *",$name,"*) ;; *) return 0 ;; esac
    local start=$SECONDS
    timeout --signal=INT --kill-after=10 "$limit" "$@" >"$outfile" 2>>"$LOG"
    local code=$?
    echo "stage $name: exit $code after $((SECONDS - start)) s (limit $limit s)" >>"$LOG"
}

stage tests 120 "$OUT/tests.txt" python3 -m pytest -q -p no:cacheprovider -o addopts="-ra" \
    tests/test_cuda.py tests/test_devices.py tests/test_cli_devices.py

stage codecs 180 "$OUT/codec_speed.md" python3 benchmarks/codec_speed.py --device cuda \
    --dtypes float32,bfloat16 --threads 1 --seconds 30 --repeats 3 --note "gpu_check"

stage train 60 "$OUT/train_speed.md" bash -c 'python3 benchmarks/train_speed.py --devices cuda \
    --steps 40 --warmup 5 --note "gpu_check, GPU" && python3 benchmarks/train_speed.py \
    --devices cpu --steps 4 --warmup 1 --note "gpu_check, the same machine CPU"'

stage analysis "$ANALYSIS_LIMIT" "$OUT/analysis_speed.md" python3 benchmarks/analysis_speed.py \
    --phases 1 --device cuda --frames "$ANALYSIS_FRAMES" --dim 512 --workdir "$(mktemp -d)" \
    --note "gpu_check"

echo "done: $(date -u)" >>"$LOG"
