"""The Spark engine's data side: the session, the panel read over JDBC, the cached numeric design
(the same rows, names and encoding as design.design_frame, with the widest categorical absorbed
for linear regression) and the least-squares passes every statistic is built from.

pyspark is imported lazily; the session is created once per process (``getOrCreate``) and
reused, its master URL and the JDBC jar come from settings.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.adapters.causal.design import T_COL, Y_COL, dummy_name
from shared.adapters.postgres.panel import PANEL_SESSION_SETTING
from shared.domain.analysis import CATEGORICAL_COLUMNS, CLUSTER_COLUMNS, AnalysisSpec, Estimator

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from shared.platform.settings import Settings

FEATURES = "__features"
GROUP = "__g"
T_RAW = "__t_raw"
Y_RAW = "__y_raw"
CLUSTER = "__cluster"
RAW = "__raw_"  # prefix of the un-demeaned copies of fitted columns (absorbed designs)
ABSORB_MIN_LEVELS = 10


def spark_session(settings: Settings) -> SparkSession:
    """The process's Spark session (created on first use, then reused while the master is the same).

    On a cluster (a ``spark://`` master) the JDBC driver travels to the executors with
    ``spark.jars`` and executors are small (``executor_memory``/``_cores``); a session on another
    master is stopped first: a process talks to one cluster at a time.
    """
    from pyspark.sql import SparkSession

    spark_settings = settings.causal.spark
    builder = (
        SparkSession.builder.master(spark_settings.master)
        .appName(settings.service_name + "-causal")
        .config("spark.jars", str(spark_settings.jdbc_jar))
        .config("spark.driver.memory", spark_settings.driver_memory)
        .config("spark.sql.shuffle.partitions", str(spark_settings.shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if not spark_settings.master.startswith("local"):
        builder = builder.config("spark.executor.memory", spark_settings.executor_memory)
        builder = builder.config("spark.executor.cores", str(spark_settings.executor_cores))
    if spark_settings.driver_host:
        builder = builder.config("spark.driver.host", spark_settings.driver_host)
        builder = builder.config("spark.driver.bindAddress", spark_settings.driver_host)
    spark = builder.getOrCreate()
    if spark.sparkContext.master != spark_settings.master:
        spark.stop()
        spark = builder.getOrCreate()
    return spark


def jdbc_target(dsn: str) -> tuple[str, dict[str, str]]:
    """A libpq URL as a JDBC URL plus connection properties (credentials stay out of the URL)."""
    parts = urllib.parse.urlsplit(dsn)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 5432
    database = parts.path.lstrip("/") or "postgres"
    props = {"driver": "org.postgresql.Driver", "fetchsize": "10000", "sessionInitStatement": PANEL_SESSION_SETTING}
    if parts.username:
        props["user"] = urllib.parse.unquote(parts.username)
    if parts.password:
        props["password"] = urllib.parse.unquote(parts.password)
    return f"jdbc:postgresql://{host}:{port}/{database}", props


def read_panel(spark: SparkSession, settings: Settings, sql: str) -> DataFrame:
    """The panel query, read in parallel partitions (by a hash of the employee) over JDBC."""
    url, props = jdbc_target(settings.postgres.dsn.get_secret_value())
    n = max(1, settings.causal.spark.jdbc_partitions)
    predicates = [f"abs(hashtext(employee)) % {n} = {i}" for i in range(n)]
    return spark.read.jdbc(url, f"({sql}) AS panel", predicates=predicates, properties=props)


@dataclass(frozen=True)
class SparkDesign:
    frame: DataFrame  # cached: T, Y (demeaned within __g if absorbed), fit columns, raw T/Y, cluster
    covariates: list[str]  # the design columns adjusted for, as the pandas engine names them
    fit_columns: list[str]  # the columns actually fitted (absorbed dummies left out)
    groups: int  # levels of the absorbed categorical (0: none absorbed)
    absorbed: str | None  # the absorbed adjustment column
    binary: bool  # the treatment is 0/1
    clustered: bool  # a __cluster column is present


def demean(df: DataFrame, columns: list[str]) -> DataFrame:
    """Subtract each column's mean within ``__g`` (one aggregation, broadcast back)."""
    from pyspark.sql import functions as F

    means = df.groupBy(GROUP).agg(*[F.avg(F.col(f"`{c}`")).alias(f"__mean{i}") for i, c in enumerate(columns)])
    joined = df.join(F.broadcast(means), GROUP)
    replaced = {c: (F.col(f"`{c}`") - F.col(f"__mean{i}")).alias(c) for i, c in enumerate(columns)}
    return joined.select(*[replaced.get(c, F.col(f"`{c}`")) for c in df.columns])


def build_design(df: DataFrame, spec: AnalysisSpec) -> SparkDesign:
    """Numeric design with the same rows, names and encoding as design.design_frame, cached.

    The panel is read over JDBC exactly once: the needed columns are cached first, the category
    levels come from that cache, then the design is cached and the raw copy dropped. For linear
    regression on a continuous treatment the categorical with the most levels (>=
    ABSORB_MIN_LEVELS, e.g. team) is absorbed: every column is demeaned within its levels instead
    of carrying one dummy per level (Frisch-Waugh-Lovell: the same coefficient, with far fewer
    columns in every pass); un-demeaned copies are kept for the sensitivity benchmarks.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.types import NumericType

    adjust = spec.adjustment_set()
    cluster_source = CLUSTER_COLUMNS.get(spec.cluster)
    clustered = cluster_source is not None and cluster_source in df.columns
    keep: list[str] = list(dict.fromkeys([spec.treatment, spec.outcome, *adjust]))
    if clustered and cluster_source is not None and cluster_source not in keep:
        keep.append(cluster_source)
    raw = df.select(*keep).dropna(subset=[spec.treatment, spec.outcome, *adjust]).persist(StorageLevel.MEMORY_AND_DISK)
    t = F.col(spec.treatment).cast("double")
    if spec.treatment_threshold is not None:
        t = (F.col(spec.treatment) > F.lit(float(spec.treatment_threshold))).cast("double")
    y = F.col(spec.outcome).cast("double")
    types = {f.name: f.dataType for f in raw.schema.fields}
    levels: dict[str, list[str]] = {}
    for c in adjust:
        if c in CATEGORICAL_COLUMNS or not isinstance(types[c], NumericType):
            levels[c] = sorted(str(r[0]) for r in raw.select(F.col(c).cast("string")).distinct().collect())
    binary = bool(first_row(raw.agg(F.min((t.isin(0.0, 1.0)).cast("int"))))[0])
    absorbed = None
    if spec.estimator is Estimator.LINEAR_REGRESSION and levels and not binary:
        widest = max(levels, key=lambda c: len(levels[c]))
        if len(levels[widest]) >= ABSORB_MIN_LEVELS:
            absorbed = widest
    cols = [t.alias(T_COL), y.alias(Y_COL), t.alias(T_RAW), y.alias(Y_RAW)]
    if clustered:
        cols.append(F.col(str(cluster_source)).cast("string").alias(CLUSTER))
    covariates: list[str] = []
    fit_columns: list[str] = []
    for c in adjust:
        if c in levels:
            names = [dummy_name(c, level) for level in levels[c][1:]]
            covariates += names
            if c == absorbed:
                cols.append(F.col(c).cast("string").alias(GROUP))
                continue
            for level, name in zip(levels[c][1:], names, strict=True):
                cols.append((F.col(c).cast("string") == F.lit(level)).cast("double").alias(name))
            fit_columns += names
        else:
            cols.append(F.col(c).cast("double").alias(c))
            covariates.append(c)
            fit_columns.append(c)
    frame = raw.select(*cols)
    if absorbed is not None:
        frame = frame.select("*", *[F.col(f"`{c}`").alias(RAW + c) for c in fit_columns])
        frame = demean(frame, [T_COL, Y_COL, *fit_columns])
    frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
    frame.count()  # materialise from the cached raw columns before dropping them
    raw.unpersist()
    groups = len(levels[absorbed]) if absorbed else 0
    return SparkDesign(frame, covariates, fit_columns, groups, absorbed, binary, clustered)


def first_row(df: DataFrame) -> Any:
    """The single row of an aggregation."""
    row = df.first()
    if row is None:
        raise ValueError("empty aggregation")
    return row


def assemble(df: DataFrame, columns: list[str]) -> DataFrame:
    from pyspark.ml.feature import VectorAssembler

    return VectorAssembler(inputCols=[f"`{c}`" for c in columns], outputCol=FEATURES).transform(df)
