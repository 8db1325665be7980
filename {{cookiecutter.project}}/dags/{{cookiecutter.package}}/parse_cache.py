"""Work done once per file version instead of at every parse, kept in a private folder.

The DAG processor parses every DAG file again and again, each time in a fresh process that
imports this package anew. Two things would be redone there every time for nothing:

- compiling the package's modules. Python keeps compiled modules in `__pycache__`, but not
  where it may write no bytecode (PYTHONDONTWRITEBYTECODE, which many Airflow images set, or
  a read-only DAGs folder). So the package loads its modules through `CachingLoader`, which
  keeps their bytecode here, per content and Python version;
- validating unchanged configs (configs.py keeps a marker per valid content here).

The folder is `<temporary directory>/<package>-<purpose>-<uid>`, readable by this user alone;
where it cannot be had (read-only, or not ours alone), the work is done every time.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import marshal
import os
import stat
import sys
import tempfile
from contextlib import suppress
from pathlib import Path
from types import CodeType


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


def load_modules_cached(package_path: list[str]) -> None:
    """Import the modules in `package_path` (a package's `__path__`) with CachingLoader."""
    for folder in package_path:
        loaders = (CachingLoader, importlib.machinery.SOURCE_SUFFIXES)
        sys.path_importer_cache[folder] = importlib.machinery.FileFinder(folder, loaders)


class CachingLoader(importlib.machinery.SourceFileLoader):
    """Compiles a module once per content, file path and Python version."""

    def get_code(self, fullname: str) -> CodeType:
        source = self.get_data(self.path)
        folder = private_folder("bytecode")
        if folder is None:
            return self.source_to_code(source, self.path)
        key = importlib.util.MAGIC_NUMBER + os.fsencode(self.path) + b"\0" + source
        cached = folder / hashlib.sha256(key).hexdigest()
        with suppress(OSError, EOFError, ValueError, TypeError):
            code = marshal.loads(cached.read_bytes())  # noqa: S302 (written here, by us alone)
            if isinstance(code, CodeType):
                return code
        code = self.source_to_code(source, self.path)
        partial = cached.with_suffix(f".{os.getpid()}")
        with suppress(OSError):
            partial.write_bytes(marshal.dumps(code))
            os.replace(partial, cached)  # whole or not at all, for parsers running alongside
        return code
