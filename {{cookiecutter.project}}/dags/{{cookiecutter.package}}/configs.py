"""JSON configs with a schema: loaded with `json.load`, validated, errors naming file and key.

The amazon provider would read `.json` templates with `ast.literal_eval`, which breaks on
`true`/`false`/`null`; loading here keeps configs plain JSON. Jinja inside string values is
left alone and rendered by Airflow at run time.

Validating is the slowest part of parsing a DAG file, and the DAG processor parses every file
again and again, each time in a fresh process. So a config is validated once per version: a
valid one leaves a marker named by the hash of its content and its schema in a private folder
(parse_cache.py), and later parses of the same content skip the validation.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import suppress
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from {{ cookiecutter.package }}.parse_cache import private_folder

SCHEMAS_DIR = Path(__file__).parent / "schemas"


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file, the JSON path and why."""


@cache
def schema_text(schema_name: str) -> bytes:
    return (SCHEMAS_DIR / f"{schema_name}.schema.json").read_bytes()


@cache
def validator(schema_name: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_text(schema_name)))


def load_config(path: str | Path, schema_name: str) -> dict[str, Any]:
    """Read one JSON config and validate it against `schemas/<schema_name>.schema.json`."""
    path = Path(path)
    try:
        text = path.read_bytes()
        config = json.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except json.JSONDecodeError as error:
        if not text.strip():
            raise ConfigError(f"{path}: empty file, expected a JSON object") from None
        raise ConfigError(
            f"{path}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    marker = validated_marker(text, schema_name)
    if not (marker and marker.exists()):
        errors = sorted(validator(schema_name).iter_errors(config), key=lambda e: list(e.path))
        if errors:
            details = "; ".join(f"{error.json_path}: {error.message}" for error in errors)
            raise ConfigError(f"{path}: does not match the {schema_name} schema: {details}")
        if marker:
            with suppress(OSError):
                marker.touch()
    config.pop("$schema", None)
    return config


def validated_marker(text: bytes, schema_name: str) -> Path | None:
    """The marker of `text` valid against the schema; None where there is no private folder:
    then every parse validates."""
    folder = private_folder("valid-configs")
    if folder is None:
        return None
    return folder / hashlib.sha256(schema_text(schema_name) + b"\0" + text).hexdigest()
