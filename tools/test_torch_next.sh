#!/usr/bin/env bash
# The lessons under the next torch: a second venv (.venv-torch-next) with torch==2.14.1 and
# every other package exactly as in constraints.txt, then the same notebook suite as `make test`
# (nbval over notebooks/ plus the unit, hygiene and determinism tests; not the browser tests,
# which exercise JupyterLab and Chromium, not torch).
#
# torch 2.14.1 is the large CUDA build (~5.5 GB installed, with the nvidia-* wheels); it runs on
# the CPU. Re-running reuses the venv while pyproject.toml and constraints.txt are unchanged.
#
# Environment: PYTHON (base interpreter, default python3), TORCH_NEXT_VERSION (default 2.14.1),
# TORCH_NEXT_VENV (default .venv-torch-next). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_NEXT_VERSION:-2.14.1}
VENV=${TORCH_NEXT_VENV:-.venv-torch-next}
STAMP="$VENV/.installed-torch-$TORCH_VERSION"
CONSTRAINTS="$VENV/constraints-torch-next.txt"

if [[ ! -f "$STAMP" || constraints.txt -nt "$STAMP" || pyproject.toml -nt "$STAMP" ]]; then
    echo "building $VENV with torch==$TORCH_VERSION (a large CUDA build: this takes a while)"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade "pip>=23.2" \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    # Same pins as the main venv, except torch (whose own CUDA dependencies are left to pip).
    grep -v -E '^torch==' constraints.txt >"$CONSTRAINTS"
    echo "torch==$TORCH_VERSION" >>"$CONSTRAINTS"
    # pip lists every local index folder that lacks a package ("is ignored: ..."): drop that noise.
    "$VENV/bin/python" -m pip install --quiet -c "$CONSTRAINTS" -e ".[lab,test]" \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    touch "$STAMP"
fi

"$VENV/bin/python" - <<EOF
import sys
import torch

print(f"torch {torch.__version__} (CUDA build {torch.version.cuda}, "
      f"GPU available: {torch.cuda.is_available()}), Python {sys.version.split()[0]}")
if not torch.__version__.startswith("$TORCH_VERSION"):
    sys.exit("expected torch $TORCH_VERSION in $VENV")
EOF

# test_packaging's pin check is about constraints.txt (torch 2.13.0 there is deliberate), so it
# runs here unchanged and still passes: the file is the same, only the installed torch differs.
exec "$VENV/bin/python" -m pytest -p no:cacheprovider -m "not browser" \
    --nbval --nbval-current-env --nbval-sanitize-with notebooks/nbval-sanitize.cfg "$@"
