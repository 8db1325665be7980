"""Add an app from the scaffold in .scaffold/: `make new-app name=<app> pattern=<spark|k8s|hybrid>`.

The scaffold is a cookiecutter template rendered with the answers this repository was baked
with (.cruft.json), so a new app follows the same conventions as the examples. Everything is
checked and rendered in a temporary folder first: bad input writes nothing. Each container
job of the new app gets its image repository in infra/aws/environment.yaml.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from string import Template

from cookiecutter.main import cookiecutter

REPO = Path(__file__).resolve().parent.parent
SCAFFOLD = REPO / ".scaffold"
PATTERNS = ("spark", "k8s", "hybrid")
# Words of lowercase letters and digits joined by single '_': a folder, a Python name, part of the
# DAG id and of image names (`<app>-<job>`, where '_' may not end a word or run three long).
NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
# Kubernetes label values (the DAG id `<package>.<app>` is one) hold at most 63 characters.
MAX_LABEL = 63
STACK_TEMPLATE = REPO / "infra" / "aws" / "environment.yaml"
# Appended to the stack template's Resources (its last section) for each container job.
REPOSITORY = Template("""
  $logical_id:  # jobs/$app/$job
    Type: AWS::ECR::Repository
    Properties:
      RepositoryName: !Sub $${RegistryPath}/$app-$job
      ImageTagMutability: IMMUTABLE
      ImageScanningConfiguration: {ScanOnPush: true}
      EncryptionConfiguration: {EncryptionType: AES256}
      # Its lifecycle policy comes from make infra (scripts/deploy/retention.py).
""")


class BadInput(ValueError):
    """Shown to the user as one line."""


def recorded_answers() -> dict:
    return json.loads((REPO / ".cruft.json").read_text())["context"]["cookiecutter"]


def check(name: str | None, pattern: str | None, package: str) -> None:
    if not name:
        raise BadInput("missing name: make new-app name=<app> pattern=<spark|k8s|hybrid>")
    if not pattern:
        raise BadInput("missing pattern: make new-app name=<app> pattern=<spark|k8s|hybrid>")
    if pattern not in PATTERNS:
        raise BadInput(f"pattern={pattern!r}: must be one of {', '.join(PATTERNS)}")
    if not NAME.match(name) or keyword.iskeyword(name):
        raise BadInput(
            f"name={name!r}: must be a Python identifier of lowercase letters and digits in words "
            "joined by single '_', starting with a letter, and not a keyword"
        )
    if len(f"{package}.{name}") > MAX_LABEL:
        raise BadInput(
            f"name={name!r}: too long; the DAG id {package}.{name} must fit a Kubernetes label "
            f"({MAX_LABEL} characters, so at most {MAX_LABEL - len(package) - 1} for the name)"
        )
    for existing in (REPO / "dags" / package / "apps" / name, REPO / "jobs" / name):
        if existing.exists():
            raise BadInput(f"name={name!r}: {existing.relative_to(REPO)} already exists")


def render(name: str, pattern: str, answers: dict, workdir: Path) -> Path:
    """Render the scaffold into `workdir`; returns the rendered tree (mirrors the repo root)."""
    public = {key: value for key, value in answers.items() if not key.startswith("_")}
    context = public | {"app": name, "pattern": pattern}
    return Path(
        cookiecutter(str(SCAFFOLD), no_input=True, output_dir=str(workdir), extra_context=context)
    )


def install(rendered: Path) -> list[Path]:
    """Copy the rendered files into the repository, refusing to overwrite anything."""
    files = sorted(path for path in rendered.rglob("*") if path.is_file())
    targets = [REPO / path.relative_to(rendered) for path in files]
    clashes = [target for target in targets if target.exists()]
    if clashes:
        raise BadInput(f"{clashes[0].relative_to(REPO)} already exists")
    for source, target in zip(files, targets, strict=True):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return targets


def stage(paths: list[Path]) -> bool:
    """`git add` the new files, as the bake does: pre-commit and `make lint` see git's files only.

    Returns False (nothing staged) outside a git work tree.
    """
    probe = ["git", "rev-parse", "--is-inside-work-tree"]
    try:
        inside = subprocess.run(probe, cwd=REPO, capture_output=True, text=True).stdout
    except OSError:
        return False
    if inside.strip() != "true":
        return False
    subprocess.run(["git", "add", "--", *map(str, paths)], cwd=REPO, check=True)
    return True


def repository(app: str, job: str) -> str:
    """The stack template's resource for the image `<app>-<job>` of `jobs/<app>/<job>/`."""
    words = re.split(r"[^A-Za-z0-9]+", f"{app}_{job}")
    logical_id = "Repository" + "".join(word[:1].upper() + word[1:] for word in words)
    return REPOSITORY.substitute(logical_id=logical_id, app=app, job=job)


def add_repositories(installed: list[Path]) -> None:
    """Declare the image repository of each container job among the installed files."""
    with STACK_TEMPLATE.open("a") as template:
        for dockerfile in installed:
            if dockerfile.name == "Dockerfile":
                template.write(repository(dockerfile.parent.parent.name, dockerfile.parent.name))


def create_app(name: str | None, pattern: str | None, answers: dict) -> list[Path]:
    """Check, render and install one app; returns the files written."""
    check(name, pattern, answers["package"])
    with tempfile.TemporaryDirectory() as workdir:
        installed = install(render(name, pattern, answers, Path(workdir)))
    add_repositories(installed)
    return installed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default=None)
    parser.add_argument("--pattern", default=None)
    args = parser.parse_args(argv)
    try:
        created = create_app(args.name, args.pattern, recorded_answers())
    except BadInput as error:
        print(f"new-app: {error}", file=sys.stderr)
        return 2
    print(f"new-app: created {args.pattern} app {args.name!r}:")
    for path in created:
        print(f"  {path.relative_to(REPO)}")
    if any(path.name == "Dockerfile" for path in created):
        print(f"  {STACK_TEMPLATE.relative_to(REPO)}: its image repositories (make infra)")
        created.append(STACK_TEMPLATE)
    if stage(created):
        print(f'Staged in git. Next: make test, then git commit -m "Add app {args.name}"')
    else:
        print("Next: git add the files above (make lint checks git's files only), make test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
