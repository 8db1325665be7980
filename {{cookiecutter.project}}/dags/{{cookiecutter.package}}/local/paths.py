"""Where local runs keep their data: `s3://<bucket>/<key>` is `.local-data/<bucket>/<key>`.

The local folder has the buckets' layout, so the data-path convention and every location a task
renders work unchanged: only the `s3://` prefix becomes a folder of this repository.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LOCAL_DATA = REPO / ".local-data"
JOBS = REPO / "jobs"
S3_PREFIX = re.compile(r"\bs3://")
S3_LOCATION = re.compile(r"\bs3://(?P<key>[^\s,;'\"]*)")


def inside(key: str) -> str:
    """`key`, refused when a '.' or '..' segment would lead out of the local data folder."""
    if {".", ".."} & set(key.split("/")):
        raise ValueError(f"not a plain S3 location: s3://{key} (no '.' or '..' segments)")
    return key


def local_path(uri: str, root: Path = LOCAL_DATA) -> Path:
    """The local file or folder of an `s3://` URI."""
    if not S3_PREFIX.match(uri) or len(uri) == len("s3://"):
        raise ValueError(f"not an S3 URI: {uri!r} (expected s3://<bucket>[/<key>])")
    return root / inside(uri.removeprefix("s3://"))


def localize(argument: str, root: Path = LOCAL_DATA) -> str:
    """`argument` with every `s3://` location in it made local, also inside `key=s3://...`."""
    return S3_LOCATION.sub(lambda match: f"{root}/{inside(match['key'])}", argument)
