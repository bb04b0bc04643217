#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, or explain what to install and exit 1.
# Mesa 3.5 needs Python 3.12+; a machine's default python3 may be older, and pyenv
# shims for versions that are installed but not selected fail when called, so each
# candidate is asked for its version rather than trusted by name.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
for name in python3.13 python3.12 python3; do
  path=$(command -v "$name" 2>/dev/null) || continue
  if ok "$path"; then echo "$path"; exit 0; fi
done
for path in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 \
            /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do
  [ -x "$path" ] && ok "$path" && { echo "$path"; exit 0; }
done
echo "negsim needs Python 3.12 or newer (Mesa 3.5 requires it) and none was found." >&2
echo "Install one, e.g. 'apt-get install python3.12' or 'pyenv install 3.12', then run make again." >&2
exit 1
