"""Sync the scheduling code to a DAGs folder on S3 (MWAA, or any S3-synced DAGs folder).

`dags/<package>/` becomes `<target>/<package>/`, in the order that keeps every DAG file
importable while files land one by one: first the library modules, schemas and settings that
DAG files import, then the apps' configs, then the DAG files (`apps/<app>/<app>_dag.py`), and
files deleted from the repository are removed last (DAG files first). Unchanged files are
skipped, so a sync that failed at any step is finished by running it again. Other packages in
the same DAGs folder (other teams' repositories) are never touched.

Every module ships with its bytecode, compiled here and checked against its source by hash
(not by time, which a copy changes): a DAG processor's parsers, each a fresh import of the
package, then compile nothing even where they may write no bytecode (PYTHONDONTWRITEBYTECODE,
which many Airflow images set, or a read-only DAGs folder). An Airflow on another Python than
the deploy's, or a stale file, ignores it and compiles the source as it would without it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import py_compile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from scripts.deploy.layout import PACKAGE, REPO, split_s3_uri


@dataclass
class SyncReport:
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0


def local_files(root: Path = REPO) -> dict[str, Path]:
    """Every file of the package by its path inside it, without the working tree's Python
    caches."""
    package = root / "dags" / PACKAGE
    return {
        path.relative_to(package).as_posix(): path
        for path in sorted(package.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def compiled(files: dict[str, Path], folder: Path) -> dict[str, Path]:
    """The bytecode of each module of `files`, compiled into `folder`, by the path it has in
    the package (`<dir>/__pycache__/<module>.<python tag>.pyc`)."""
    bytecode = {}
    for name, path in files.items():
        if name.endswith(".py"):
            cached = importlib.util.cache_from_source(name)
            py_compile.compile(
                str(path),
                cfile=str(folder / cached),
                dfile=name,
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
            )
            bytecode[cached] = folder / cached
    return bytecode


def stage(name: str) -> int:
    """When a file ships: 0 what DAG files import, 1 the apps' configs, 2 the DAG files."""
    if not name.startswith("apps/"):
        return 0
    return 2 if name.endswith("_dag.py") else 1


def remote_etags(s3, bucket: str, prefix: str) -> dict[str, str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {
        item["Key"][len(prefix) :]: item["ETag"].strip('"')
        for page in pages
        for item in page.get("Contents", [])
    }


def sync_dags(target: str, s3, root: Path = REPO) -> SyncReport:
    bucket, prefix = split_s3_uri(target)
    prefix += f"{PACKAGE}/"
    remote = remote_etags(s3, bucket, prefix)
    report = SyncReport()
    with tempfile.TemporaryDirectory() as bytecode:
        files = local_files(root)
        files |= compiled(files, Path(bytecode))
        for name in sorted(files, key=stage):
            path = files[name]
            # A single-part upload's ETag is the MD5 of its content.
            checksum = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
            if remote.pop(name, None) == checksum:
                report.unchanged += 1
                continue
            s3.upload_file(str(path), bucket, prefix + name)
            report.uploaded.append(name)
    stale = sorted(remote, key=lambda name: -stage(name))
    for start in range(0, len(stale), 1000):
        batch = [{"Key": prefix + name} for name in stale[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
    report.deleted = stale
    return report
