"""Bring the environment files up to the settings version this repository's code reads.

`cruft update` brings the template's changes but leaves dags/<package>/environments/ alone:
those files hold the team's values. When the template changes what a setting it owns means or
how it is written, it raises `SETTINGS_VERSION` in schemas/environment.schema.json and adds a
migration below. `make migrate-settings` (and `make setup`, `make test`) applies each file's
missing migrations in order and prints every change; the team's other values stay as they are.
With `--check` (`make test` in CI) it writes nothing and fails for a file that is behind, so a
deploy never ships settings its code cannot read.

Only the standard library: it runs before any environment is installed.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path

PACKAGE = "{{ cookiecutter.package }}"
REPO = Path(__file__).resolve().parent.parent
ENVIRONMENTS = REPO / "dags" / PACKAGE / "environments"
SCHEMA = REPO / "dags" / PACKAGE / "schemas" / "environment.schema.json"


def runtime_names_a_module(settings: dict) -> None:
    """RUNTIME names the Python module of the operator twins; it was `local` or `cloud`."""
    runtime = settings.get("RUNTIME")
    if runtime == "local":
        settings["RUNTIME"] = f"{PACKAGE}.local.twins"
    elif runtime == "cloud":
        del settings["RUNTIME"]


def airflow_subjects_listed(settings: dict) -> None:
    """K8S_AIRFLOW_SUBJECT became K8S_AIRFLOW_SUBJECTS, every Airflow component that runs jobs
    (the official Helm chart's triggerer beside its workers); images are kept by age, so
    INFRA.IMAGE_RETENTION_COUNT went."""
    if "K8S_AIRFLOW_SUBJECT" in settings:
        subject = settings["K8S_AIRFLOW_SUBJECT"]
        subjects = [subject]
        if subject == {"kind": "ServiceAccount", "name": "airflow-worker", **namespace(subject)}:
            subjects.append(subject | {"name": "airflow-triggerer"})
        renamed = {
            ("K8S_AIRFLOW_SUBJECTS" if key == "K8S_AIRFLOW_SUBJECT" else key): value
            for key, value in settings.items()
        }
        renamed["K8S_AIRFLOW_SUBJECTS"] = subjects
        settings.clear()
        settings.update(renamed)
    if isinstance(settings.get("INFRA"), dict):
        settings["INFRA"].pop("IMAGE_RETENTION_COUNT", None)


def namespace(subject: dict) -> dict:
    return {"namespace": subject["namespace"]} if "namespace" in subject else {}


# Each version, with the migration that brings a file of the version before up to it.
MIGRATIONS: dict[int, Callable[[dict], None]] = {
    1: runtime_names_a_module,
    2: airflow_subjects_listed,
}


class SettingsError(ValueError):
    """One line for the user; exit code 2, nothing written."""


def current_version(schema: Path = SCHEMA) -> int:
    return json.loads(schema.read_text())["properties"]["SETTINGS_VERSION"]["const"]


def version_of(settings: dict) -> int:
    """The file's settings version; a file from before versions is at 0."""
    return settings.get("SETTINGS_VERSION", 0)


def read(path: Path, version: int) -> dict:
    where = path.relative_to(REPO)
    try:
        settings = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SettingsError(f"{where}: not a JSON file ({error})") from None
    if not isinstance(settings, dict):
        raise SettingsError(f"{where}: $: not a JSON object")
    if version_of(settings) not in range(version + 1):
        found = settings["SETTINGS_VERSION"]
        raise SettingsError(f"{where}: $.SETTINGS_VERSION: {found!r}, this code reads {version}")
    return settings


def migrated(settings: dict, version: int) -> dict:
    """A copy of `settings` through the migrations after its version, up to `version`; the
    version follows `$schema`, the other keys keep their order."""
    result = copy.deepcopy(settings)
    for step in range(version_of(result) + 1, version + 1):
        MIGRATIONS[step](result)
    result.pop("SETTINGS_VERSION", None)
    schema = {"$schema": result.pop("$schema")} if "$schema" in result else {}
    return schema | {"SETTINGS_VERSION": version} | result


def changes(before: dict, after: dict) -> list[str]:
    """`$.KEY: old -> new` for every top-level key that differs."""
    missing = object()
    lines = []
    for key in [*after, *(key for key in before if key not in after)]:
        old, new = before.get(key, missing), after.get(key, missing)
        if old != new:
            shown = ["(none)" if value is missing else json.dumps(value) for value in (old, new)]
            lines.append(f"$.{key}: {shown[0]} -> {shown[1]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make migrate-settings", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; fail if behind")
    args = parser.parse_args(argv)
    version = current_version()
    try:
        files = {path: read(path, version) for path in sorted(ENVIRONMENTS.glob("*.json"))}
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    behind = [path for path, settings in files.items() if version_of(settings) < version]
    if args.check and behind:
        names = ", ".join(str(path.relative_to(REPO)) for path in behind)
        print(
            f"error: {names}: older than settings version {version}, which this code reads: "
            "run make migrate-settings, review and commit",
            file=sys.stderr,
        )
        return 2
    for path in behind:
        before = files[path]
        after = migrated(before, version)
        path.write_text(json.dumps(after, indent=2, ensure_ascii=False) + "\n")
        print(f"{path.relative_to(REPO)}: settings version {version_of(before)} -> {version}")
        for line in changes(before, after):
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
