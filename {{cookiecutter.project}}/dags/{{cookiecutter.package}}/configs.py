"""JSON configs with a schema: loaded with `json.load`, validated, errors naming file and key.

The amazon provider would read `.json` templates with `ast.literal_eval`, which breaks on
`true`/`false`/`null`; loading here keeps configs plain JSON. Jinja inside string values is
left alone and rendered by Airflow at run time.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMAS_DIR = Path(__file__).parent / "schemas"


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file, the JSON path and why."""


@cache
def validator(schema_name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS_DIR / f"{schema_name}.schema.json").read_text())
    return Draft202012Validator(schema)


def load_config(path: str | Path, schema_name: str) -> dict[str, Any]:
    """Read one JSON config and validate it against `schemas/<schema_name>.schema.json`."""
    path = Path(path)
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{path}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    errors = sorted(validator(schema_name).iter_errors(config), key=lambda e: list(e.path))
    if errors:
        details = "; ".join(f"{error.json_path}: {error.message}" for error in errors)
        raise ConfigError(f"{path}: does not match the {schema_name} schema: {details}")
    config.pop("$schema", None)
    return config
