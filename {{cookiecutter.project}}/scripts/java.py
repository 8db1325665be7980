"""Java for local Spark: the PySpark tests of `make test` and `make run-local` start Spark here.

Only the standard library: `make test-jobs` checks it before any job's environment exists.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

# The Java versions pyspark 3.5 (the Spark of EMR 7) runs on.
SPARK_JAVA = (8, 11, 17)
INSTALL_JAVA = (
    "install Java 17 (`sudo apt-get install openjdk-17-jre-headless` on Debian and Ubuntu, "
    "`brew install openjdk@17` on macOS), then put it on PATH or set JAVA_HOME"
)


@cache
def version_output(java: str) -> str:
    """What `java -version` says (a JVM start: asked once)."""
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    return result.stderr + result.stdout


def java_version(java: str) -> int | None:
    """The major version `java -version` reports (`1.8.0_402` is 8)."""
    match = re.search(r'version "(?:1\.)?(\d+)', version_output(java))
    return int(match[1]) if match else None


def find_java() -> str | None:
    """The java that Spark starts: JAVA_HOME's, else PATH's."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home, "bin", "java")) if java_home else shutil.which("java")
    return java if java and Path(java).is_file() else None


def java_identity() -> str:
    """The java that Spark starts and the version it reports ('' without one)."""
    java = find_java()
    if java is None:
        return ""
    first_line = version_output(java).partition("\n")[0]
    return f"{java} {first_line}"


def java_problem() -> str | None:
    """Why Spark cannot start on this machine's Java (JAVA_HOME, else PATH); None if it can."""
    java = find_java()
    if java is None:
        return f"Spark needs Java, found none on PATH or in JAVA_HOME: {INSTALL_JAVA}"
    version = java_version(java)
    if version not in SPARK_JAVA:
        return (
            f"Spark (pyspark 3.5) runs on Java {', '.join(map(str, SPARK_JAVA))}, and {java} "
            f"is Java {version or '(version unknown)'}: {INSTALL_JAVA}"
        )
    return None
