#!/usr/bin/env bash
# Build the standalone Linux application folder with PyInstaller and a CPU build of torch, then start the
# built program offscreen and check that it opens the demo (it quits by itself, status 0).
#
#   packaging/build_linux_bundle.sh                 # builds in /tmp/workbench-bundle
#   WORKBENCH_BUNDLE_DIR=~/build packaging/build_linux_bundle.sh
#   TORCH_PACKAGES="torch torchvision" PIP_INDEX_URL=https://download.pytorch.org/whl/cpu \
#     PIP_EXTRA_INDEX_URL=https://pypi.org/simple packaging/build_linux_bundle.sh   # with torchvision
#
# The result is $WORKBENCH_BUNDLE_DIR/dist/conversion-workbench/ (run its `workbench`); tar it to ship it.
# Everything happens in a fresh virtual environment under $WORKBENCH_BUNDLE_DIR, never in the Python that
# runs this script. Not part of CI: it takes minutes and about 2 GB of disk.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORKBENCH_BUNDLE_DIR:-/tmp/workbench-bundle}
PYTHON=${PYTHON:-python3}
# The CPU build of torch; torchvision is bundled when TORCH_PACKAGES names it (it must be a CPU build too).
TORCH_PACKAGES=${TORCH_PACKAGES:-torch==2.13.0}

mkdir -p "$WORK"
if [ ! -x "$WORK/venv/bin/python" ]; then
    "$PYTHON" -m venv "$WORK/venv"
fi
VPY="$WORK/venv/bin/python"
"$VPY" -m pip install -q --upgrade pip
# shellcheck disable=SC2086  # TORCH_PACKAGES is a list of requirements
"$VPY" -m pip install -q $TORCH_PACKAGES
"$VPY" -c "import torch, sys; sys.exit('torch here is a CUDA build; give a CPU build in TORCH_PACKAGES') \
if torch.version.cuda else print('torch', torch.__version__, '(CPU build)')"

# The app's own requirements, read from pyproject.toml so this list cannot drift; torch and torchvision
# come from TORCH_PACKAGES above (PyPI's torchvision wheels are CUDA builds that do not load beside a CPU torch).
mapfile -t REQS < <("$VPY" - "$REPO/pyproject.toml" <<'PY'
import re, sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
for req in project["dependencies"] + project["optional-dependencies"]["gui"]:
    req = req.split("#")[0].strip()
    if re.match(r"torch(vision)?\b", req):
        continue
    print(req)
PY
)
"$VPY" -m pip install -q "pyinstaller>=6.10,<7" "${REQS[@]}"
"$VPY" -m pip install -q --no-deps --force-reinstall "$REPO"

echo "building with PyInstaller $("$VPY" -m PyInstaller --version) ..."
START=$SECONDS
"$VPY" -m PyInstaller --noconfirm --log-level WARN --distpath "$WORK/dist" --workpath "$WORK/build" \
    "$REPO/packaging/pyinstaller/conversion-workbench.spec"
BUILD_SECONDS=$((SECONDS - START))
APP="$WORK/dist/conversion-workbench"
echo "built $APP in ${BUILD_SECONDS} s: $(du -sh "$APP" | cut -f1) on disk," \
     "$(tar -C "$WORK/dist" -czf - conversion-workbench | wc -c | awk '{printf "%.0f MB", $1/1e6}') as .tar.gz"

# The smoke start: a fresh home, so the demo, the settings and the trust store go to a throw-away folder.
SMOKE_HOME=$(mktemp -d)
trap 'rm -rf "$SMOKE_HOME"' EXIT
"$APP/workbench" --version
START=$SECONDS
HOME="$SMOKE_HOME" XDG_CONFIG_HOME="$SMOKE_HOME/.config" QT_QPA_PLATFORM=offscreen WORKBENCH_SMOKE_TEST=1 \
    timeout 600 "$APP/workbench" gui --demo
echo "smoke start passed: the built program opened the demo and quit with status 0 ($((SECONDS - START)) s)"
