#!/bin/bash
# Keep a whole course within Binder's 2 GB: every lesson's kernel holds 100-400 MB, and
# JupyterLab keeps the kernels of closed notebooks running. So (1) closing a notebook shuts
# its kernel down (JupyterLab's kernelShutdown setting, as a default in overrides.json) and
# (2) the server culls kernels that no tab is connected to after 15 idle minutes
# (jupyter_server_config.json, merged into the environment's own).
# Usage: binder/install_jupyter_settings.sh PREFIX   (the environment's sys.prefix)
# Run by binder/postBuild on mybinder.org and by `make lab` for the local .venv.
set -euo pipefail
prefix="$1"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$prefix/share/jupyter/lab/settings" "$prefix/etc/jupyter"
cp "$here/overrides.json" "$prefix/share/jupyter/lab/settings/overrides.json"
# The server reads general settings only from jupyter_server_config.json itself (the .d
# folder next to it is for enabling extensions), so merge ours into it.
"$prefix/bin/python" - "$here/jupyter_server_config.json" "$prefix/etc/jupyter/jupyter_server_config.json" <<'PY'
import json, pathlib, sys
ours, target = (pathlib.Path(p) for p in sys.argv[1:])
config = json.loads(target.read_text()) if target.exists() else {}
for section, values in json.loads(ours.read_text()).items():
    config.setdefault(section, {}).update(values)
target.write_text(json.dumps(config, indent=2) + "\n")
PY
