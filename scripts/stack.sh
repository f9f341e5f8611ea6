#!/usr/bin/env bash
# Run every chapter and check every claim on a stack other than the lock, in a venv of its own:
#
#   bash scripts/stack.sh newest   # the newest release of every dependency (what a new reader gets)
#   bash scripts/stack.sh oldest   # every runtime dependency at the lower bound pyproject.toml allows
#
# Outputs are not compared (they come from other library versions): `pytest --nbval-lax` runs each
# chapter, and its claims cell raises on any false claim; tests/test_imports.py checks that importing
# symlib and torch_geometric prints nothing on this stack. The venv is .stacks/NAME (reused if its
# install succeeded). pip ignores this machine's pip configuration here (PIP_CONFIG_FILE=/dev/null),
# so a local cap or wheel folder cannot stand in for what PyPI offers.
set -euo pipefail
cd "$(dirname "$0")/.."

name=${1:?usage: scripts/stack.sh newest|oldest}
venv=.stacks/$name
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1

case $name in
  newest) pins=() ;;
  oldest) mapfile -t pins < <(python3 scripts/lock.py lower-bounds) ;;
  *) echo "unknown stack '$name': expected newest or oldest" >&2; exit 2 ;;
esac

start=$(date +%s)
if [[ ! -f $venv/.installed ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  # eager: every dependency at its newest release (or at the pins), not only the direct ones
  "$venv/bin/python" -m pip install --quiet --upgrade --upgrade-strategy eager "${pins[@]}" -e ".[test]"
  touch "$venv/.installed"
fi
echo "stack $name: install $(( $(date +%s) - start )) s"
"$venv/bin/python" - <<'EOF'
from importlib.metadata import version
print("stack versions:", ", ".join(f"{p} {version(p)}" for p in
      ("torch", "torch_geometric", "numpy", "matplotlib", "scikit-learn", "ipywidgets", "nbval")))
EOF

t=$(date +%s)
"$venv/bin/python" -m pytest --nbval-lax -n auto --dist loadscope -p no:cacheprovider -q notebooks tests/test_imports.py
echo "stack $name: notebooks and claims $(( $(date +%s) - t )) s"
