"""Write the pre-gen hook's SCHEDULING_MODULES: the package names a bake refuses.

A team package named like a top-level module of the scheduling environment would shadow it on
the DAG processor's sys.path, or be shadowed by it. The list is derived, never written by hand:
this script bakes the template, installs the baked repository's locked scheduling environment
(uv.lock's `test` group, which `make test` parses and runs the DAGs with: Airflow, its providers
and executor, the test tools), lists the modules it can import, and rewrites the list in
hooks/pre_gen_project.py. Run it after changing {{cookiecutter.project}}/uv.lock: the baked gate
(tests/test_baked_gate.py) fails until the two agree.

Usage: .tox/tests/bin/python scripts/scheduling_modules.py
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parent.parent
HOOK = TEMPLATE / "hooks" / "pre_gen_project.py"
# What a Python of the environment can import at top level, and could take a package's name.
LIST_MODULES = (
    "import importlib.metadata as m, json, sys; print(json.dumps(sorted("
    "n for n in m.packages_distributions() if n.isidentifier() and n.islower() "
    "and not n.startswith('_') and n not in sys.stdlib_module_names)))"
)
LISTED = re.compile(r"(?<=^SCHEDULING_MODULES = frozenset\(\{\n).*?(?=^\}\)$)", re.M | re.S)


def importable_modules(python: Path) -> list[str]:
    result = subprocess.run([str(python), "-c", LIST_MODULES], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{python}: {result.stderr.strip()}")
    return json.loads(result.stdout)


def listed(modules: list[str]) -> str:
    """The modules as the hook lists them: quoted, sorted, wrapped at 100 characters."""
    names = " ".join(f'"{name}",' for name in sorted(modules))
    return textwrap.fill(names, width=100, initial_indent="    ", subsequent_indent="    ") + "\n"


def locked_modules() -> list[str]:
    """Bake, install the locked `test` group with uv, and list what it can import."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    with tempfile.TemporaryDirectory() as output_dir:
        repo = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=output_dir))
        sync = [uv, "sync", "--locked", "--only-group", "test", "--project", str(repo)]
        subprocess.run(sync, check=True, capture_output=True)
        return importable_modules(repo / ".venv" / "bin" / "python")


def main() -> int:
    modules = locked_modules()
    HOOK.write_text(LISTED.sub(lambda _: listed(modules), HOOK.read_text(), count=1))
    print(f"{HOOK.relative_to(TEMPLATE)}: SCHEDULING_MODULES lists {len(modules)} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
