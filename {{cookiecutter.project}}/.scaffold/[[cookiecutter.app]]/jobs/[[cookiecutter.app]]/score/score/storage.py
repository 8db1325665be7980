"""Read and write datasets at a local path or an `s3://` URI, through pyarrow's filesystems.

pyarrow's S3 support is built in (the AWS SDK's usual credential chain: IRSA/pod identity
on Kubernetes, env vars or ~/.aws locally), so the image needs no boto3. A dataset is a
folder of files; files whose names start with `_` or `.` (Spark's `_SUCCESS`) are skipped.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
from pyarrow import fs


def _resolve(location: str) -> tuple[fs.FileSystem, str]:
    if "://" not in location:
        location = str(Path(location).resolve())
    return fs.FileSystem.from_uri(location)


def read_csv(location: str, schema: pa.Schema) -> pa.Table:
    """Every CSV file under `location` (a folder or one file), with a header, as `schema`."""
    filesystem, path = _resolve(location)
    return ds.dataset(path, schema=schema, format="csv", filesystem=filesystem).to_table()


def write_parquet(table: pa.Table, location: str) -> None:
    """Replace whatever `location` held with `table` as Parquet: reruns are idempotent."""
    filesystem, path = _resolve(location)
    ds.write_dataset(
        table,
        path,
        format="parquet",
        filesystem=filesystem,
        basename_template="part-{i}.parquet",
        existing_data_behavior="delete_matching",
    )
