#!/usr/bin/env bash
# CI: install the kit with the image's own install command into a fresh virtual environment (containers
# cannot run here), then import it and list the scenarios, as a learner's server would.
set -euo pipefail
cd "$(dirname "$0")/.."
line=$(grep -o 'pip install --no-cache-dir [^ ]*' deploy/Dockerfile | head -1)
[[ -n $line ]] || { echo "deploy/Dockerfile has no pip install line" >&2; exit 1; }
grep -q "pip install --no-cache-dir ." binder/postBuild || { echo "binder/postBuild differs" >&2; exit 1; }
venv=$(mktemp -d)/venv
python3 -m venv "$venv"
# The Dockerfile installs from the copied source; here the source is the repository itself.
read -ra words <<< "${line/\/tmp\/mailflow-lab/.}"
"$venv/bin/${words[0]}" "${words[@]:1}" --quiet
"$venv/bin/python" -c "import mailflow_lab, mailflow_lab.ui.wizard; print('image install ok:', mailflow_lab.__version__)"
"$venv/bin/mailflow-lab" scenarios list >/dev/null
rm -rf "$(dirname "$venv")"
