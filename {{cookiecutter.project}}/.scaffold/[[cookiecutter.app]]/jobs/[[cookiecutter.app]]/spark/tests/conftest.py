import os
import time

import pytest
from pyspark.sql import SparkSession

# The driver's JVM in UTC; and, as tests are short, compiling quickly only (C1) with a one-thread
# garbage collector: half the JVM's CPU, same results.
JVM_OPTIONS = "-Duser.timezone=UTC -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


@pytest.fixture(scope="session")
def spark():
    """A small local Spark in UTC, like the cluster (the job config sets the same time zone).

    Python turns Spark timestamps into naive datetimes in the process's time zone: UTC too.
    Left running after the tests: the projects with this same conftest share one process in
    `make test-jobs`, and so one Spark (a new one costs a second). The next gets it without the
    settings, cache and temporary views these tests left.
    """
    os.environ["TZ"] = "UTC"
    time.tzset()
    session = (
        SparkSession.builder.master("local[1]")
        .appName("tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", JVM_OPTIONS)
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    session.sql("RESET")  # runtime settings back to the ones above
    session.catalog.clearCache()
    for table in session.catalog.listTables():
        if table.isTemporary:
            session.catalog.dropTempView(table.name)
