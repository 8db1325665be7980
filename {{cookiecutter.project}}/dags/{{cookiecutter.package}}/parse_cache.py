"""Work done once per file version instead of at every parse, kept in a private folder.

The DAG processor parses every DAG file again and again, each time in a fresh process that
imports this package anew. Validating the configs of unchanged files would be redone there
every time for nothing: configs.py keeps a marker per valid content in this user's folder,
`<temporary directory>/<package>-valid-configs-<uid>`. Where it cannot be had (read-only, or not
ours alone), the work is done every time. (The package's own bytecode ships with the DAGs,
compiled by the deploy: scripts/deploy/dags.py.)
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def private_folder(purpose: str) -> Path | None:
    """This user's folder for `purpose`, created if need be; None if it is not ours alone."""
    folder = Path(tempfile.gettempdir()) / f"{__package__}-{purpose}-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        status = folder.lstat()  # a link to elsewhere is not the folder
    except OSError:
        return None
    ours_alone = status.st_uid == os.getuid() and not stat.S_IMODE(status.st_mode) & 0o077
    return folder if stat.S_ISDIR(status.st_mode) and ours_alone else None
