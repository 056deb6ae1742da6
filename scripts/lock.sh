#!/usr/bin/env bash
# Refresh constraints.txt, the pinned versions that the README's install commands and CI install through.
#
# Installs the project with every extra that pyproject.toml declares (so extras added later are picked up)
# into a fresh virtual environment and records the exact versions installed. Run it on purpose — after
# changing dependencies, or to take newer releases — then review the diff, run the tests and commit it:
#
#     bash scripts/lock.sh && git diff constraints.txt
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
extras=$("$python" -c 'import tomllib; print(",".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]))')
venv=$(mktemp -d)
trap 'rm -rf "$venv" constraints.txt.new' EXIT
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet ".[$extras]"
{
  echo "# Pinned versions for: pip install -c constraints.txt ... (made by scripts/lock.sh; do not edit by hand)."
  echo "# Resolved with $("$venv/bin/python" -V) for the base install and the extras: $extras."
  # Local version labels (torch's +cpu) are dropped: the pin names the release, the local file supplies the build.
  "$venv/bin/python" -m pip freeze --all --exclude propscope | sed -E 's/^([^=]+==[^+ ;]+)\+[A-Za-z0-9.]+/\1/' | LC_ALL=C sort -f
} > constraints.txt.new
mv constraints.txt.new constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) pinned packages"
