"""Where the rows live: a DuckDB or Spark backend over Parquet (or CSV), and column-limited reads.

The out-of-core engines (:mod:`survmig.estimation.sql`) send SQL to a *backend* and get back only
small reduced tables. A backend knows its dialect (identifier quoting, the exact-sum function) and
the source's columns and types; the data set is one view called ``src``.

* :class:`DuckDBBackend` — a Parquet file, a glob (``data/*.parquet``), a hive-partitioned folder
  (``survey=KE2019/part-0.parquet``…), a CSV file, or a DuckDB relation from the caller's
  connection. DuckDB reads only the columns a query names and spills to disk when needed.
* :class:`SparkBackend` — a Spark DataFrame (or a path read by Spark), local or on a cluster.

:func:`read_columns` is the in-memory command line's reader: only the needed columns, converted to
pandas once.
"""

from __future__ import annotations

import glob as globmod
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError

ENGINES = ("auto", "memory", "duckdb", "spark")
#: ``--engine auto`` reads a single file smaller than this into memory, anything larger out of core
AUTO_MEMORY_BYTES = 512 * 1024**2
VIEW = "src"

_NUMERIC = re.compile(
    r"^(tinyint|smallint|int|integer|bigint|hugeint|utinyint|usmallint|uinteger|ubigint|uhugeint"
    r"|float|real|double|decimal.*|long|short|byte)$",
    re.IGNORECASE,
)


def kind_of(type_name: str) -> str:
    """``numeric``, ``bool`` or ``text`` for a DuckDB or Spark column type name."""
    t = type_name.strip().lower()
    if t in ("boolean", "bool"):
        return "bool"
    return "numeric" if _NUMERIC.match(t) else "text"


def sql_literal(value: Any) -> str:
    """A literal both dialects read back exactly (doubles in 17-digit scientific notation)."""
    if hasattr(value, "item") and np.ndim(value) == 0:
        value = value.item()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not np.isfinite(value):
            return "NULL"
        return f"{value:.17e}"
    return "'" + str(value).replace("'", "''") + "'"


class Backend:
    """Runs SQL over the view ``src`` and returns small pandas frames."""

    name = "sql"
    exact_sum = "sum"  # the aggregate for sums where rounding order matters (quantile weights)

    def __init__(self, columns: dict[str, str], label: str) -> None:
        self.columns = columns  # name -> DuckDB/Spark type name
        self.label = label  # the source, for messages
        self.table = VIEW  # the name queries select from

    def quote(self, name: str) -> str:  # pragma: no cover - each backend defines it
        raise NotImplementedError

    def query(self, sql: str) -> pd.DataFrame:  # pragma: no cover
        raise NotImplementedError

    def kind(self, column: str) -> str:
        return kind_of(self.columns[column])

    def create_view(self, name: str, sql: str) -> None:  # pragma: no cover - each backend
        """A temporary view ``name`` defined by ``sql`` (lazy: no rows are read)."""
        raise NotImplementedError

    def median(self, expr: str) -> str:
        """The exact median aggregate (the mean of the two middle values, as numpy)."""
        return f"median({expr})"

    def frame_of_columns(self) -> pd.DataFrame:
        """An empty frame with the source's columns (for the design checks' messages)."""
        return pd.DataFrame(columns=list(self.columns))


class DuckDBBackend(Backend):
    """DuckDB over files, or over a relation of the caller's connection."""

    name = "duckdb"
    exact_sum = "fsum"  # Kahan-Babuska summation

    def __init__(
        self,
        source: Any,
        *,
        connection: Any = None,
        memory_limit: str | None = None,
        threads: int | None = None,
    ) -> None:
        import duckdb

        if isinstance(source, duckdb.DuckDBPyRelation):
            if connection is None:
                raise SurvmigError(
                    "a DuckDB relation needs the connection it belongs to",
                    where="engine",
                    hint="pass connection=con with the relation",
                )
            self.con = connection
            source.create_view(VIEW, replace=True)
            label = "DuckDB relation"
        else:
            self.con = connection or duckdb.connect()
            label = str(source)
            self.con.execute(f"CREATE OR REPLACE VIEW {VIEW} AS SELECT * FROM {_scan(source)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self.con.execute("SET preserve_insertion_order = false")
        desc = self.con.execute(f"DESCRIBE {VIEW}").fetchall()
        super().__init__({str(r[0]): str(r[1]) for r in desc}, label)

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def create_view(self, name: str, sql: str) -> None:
        import duckdb

        try:
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")
        except duckdb.Error as err:
            raise SurvmigError(
                f"DuckDB could not run the reduction: {err}", file=self.label
            ) from None

    def query(self, sql: str) -> pd.DataFrame:
        import duckdb

        try:
            return self.con.execute(sql).df()
        except duckdb.Error as err:
            raise SurvmigError(
                f"DuckDB could not run the reduction: {err}", file=self.label
            ) from None


class SparkBackend(Backend):
    """Spark SQL over a DataFrame registered as a temporary view."""

    name = "spark"

    def __init__(self, frame: Any) -> None:
        self.spark = frame.sparkSession
        self.view = f"survmig_src_{id(frame):x}"
        frame.createOrReplaceTempView(self.view)
        super().__init__({name: dtype for name, dtype in frame.dtypes}, "Spark DataFrame")
        self.table = self.view

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def create_view(self, name: str, sql: str) -> None:
        self.query(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {sql}")

    def median(self, expr: str) -> str:
        return f"percentile({expr}, 0.5)"

    def query(self, sql: str) -> pd.DataFrame:
        from pyspark.errors import PySparkException

        try:
            rows = self.spark.sql(sql).collect()
        except PySparkException as err:
            raise SurvmigError(f"Spark could not run the reduction: {err}") from None
        if not rows:
            return pd.DataFrame(columns=_output_names(sql))
        return pd.DataFrame([r.asDict() for r in rows])


def _output_names(sql: str) -> list[str]:
    return re.findall(r" AS ([A-Za-z_][A-Za-z0-9_]*)", sql.split(" FROM ")[0])


def _scan(source: Any) -> str:
    """The DuckDB table function for a path: a file, a glob, or a (hive-partitioned) folder."""
    text = str(source)
    path = Path(text)
    quoted = "'" + text.replace("'", "''") + "'"
    if path.is_dir():
        files = sorted(path.rglob("*.parquet"))
        if not files:
            raise SurvmigError("the folder has no .parquet files", file=path)
        pattern = "'" + str(path / "**" / "*.parquet").replace("'", "''") + "'"
        return f"read_parquet({pattern}, hive_partitioning = true)"
    if any(ch in text for ch in "*?["):
        if not globmod.glob(text, recursive=True):
            raise SurvmigError("no file matches this pattern", file=text)
        if text.lower().endswith(".csv"):
            return f"read_csv({quoted}, header = true)"
        return f"read_parquet({quoted}, hive_partitioning = true, union_by_name = true)"
    if not path.exists():
        raise SurvmigError("file not found", file=path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return f"read_parquet({quoted})"
    if suffix == ".csv":
        return f"read_csv({quoted}, header = true)"
    raise SurvmigError(
        f"the out-of-core engines read Parquet or CSV, not {suffix or 'this file'}",
        file=path,
        hint="convert the file to Parquet, or use --engine memory",
    )


def spark_session(
    master: str | None = None, app: str = "survmig", config: dict[str, str] | None = None
) -> Any:
    """A Spark session (``master``: ``local[2]``, ``spark://host:7077``, ``yarn``…; default: the
    active session, else local mode on all cores); ``config``: extra Spark settings."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SurvmigError(
            "the Spark engine needs pyspark",
            where="engine",
            hint="pip install 'survmig[spark]' (and a Java 17 runtime)",
        ) from None
    builder = SparkSession.builder.appName(app)
    for key, value in (config or {}).items():
        builder = builder.config(key, value)
    if master:
        builder = builder.master(master)
    elif SparkSession.getActiveSession() is None:
        builder = builder.master("local[*]")
    return builder.getOrCreate()


def backend_for(
    data: Any, engine: str, *, spark_master: str | None = None, connection: Any = None
) -> Backend:
    """The backend for ``data`` (a path, a glob, a folder, a DuckDB relation or a Spark DataFrame)."""
    if isinstance(data, Backend):
        return data
    if engine == "spark":
        if hasattr(data, "sparkSession"):
            return SparkBackend(data)
        spark = spark_session(spark_master)
        text = str(data)
        reader = spark.read.option("header", "true").option("inferSchema", "true")
        if text.lower().endswith(".csv"):
            frame = reader.csv(text)
        else:
            if not any(ch in text for ch in "*?[") and not Path(text).exists():
                raise SurvmigError("file not found", file=text)
            frame = spark.read.parquet(text)
        return SparkBackend(frame)
    if engine != "duckdb":
        raise SurvmigError(f"unknown engine {engine!r}", where="engine", hint="use duckdb or spark")
    return DuckDBBackend(data, connection=connection)


def is_dataset_folder(path: Path) -> bool:
    """A folder written by ``survmig data import`` (not a hive-partitioned Parquet folder)."""
    from survmig.data.dataset import METADATA_FILE

    return path.is_dir() and (path / METADATA_FILE).exists()


def choose_engine(data: Path, engine: str) -> str:
    """Resolve ``--engine auto``: a glob, a Parquet folder or a file over
    :data:`AUTO_MEMORY_BYTES` goes out of core on DuckDB; anything else in memory."""
    if engine != "auto":
        return engine
    text = str(data)
    if any(ch in text for ch in "*?["):
        return "duckdb"
    if data.is_dir():
        return "memory" if is_dataset_folder(data) else "duckdb"
    if data.suffix.lower() in (".parquet", ".csv") and data.exists():
        return "duckdb" if data.stat().st_size > AUTO_MEMORY_BYTES else "memory"
    return "memory"


def table_columns(path: Path) -> list[str] | None:
    """The column names of a data file without reading its rows (``None``: not cheaply known)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if suffix == ".csv":
        return list(pd.read_csv(path, nrows=0).columns)
    return None


def read_columns(path: Path, columns: Iterable[str] | None, allowed: Sequence[str]) -> pd.DataFrame:
    """Read only ``columns`` of a flat data file (all of them when ``None``), converted once.

    Parquet goes through Arrow straight to pandas with the Arrow buffers released as they are
    converted; CSV, SPSS and Stata readers get the column list. Columns the file lacks are left to
    the design checks, which name them with the closest matches.
    """
    from survmig.tableio import read_table

    names = table_columns(path) if path.exists() else None
    if columns is None or names is None:
        if path.suffix.lower() in (".sav", ".dta") and columns is not None and path.exists():
            return _read_stat(path, list(columns))
        return read_table(path, tuple(allowed))
    wanted = [c for c in dict.fromkeys(columns) if c in names]
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path, columns=wanted)
        except (OSError, ValueError) as err:
            raise SurvmigError(f"cannot read this Parquet file: {err}", file=path) from None
        return table.to_pandas(self_destruct=True, split_blocks=True)
    import io

    from survmig.fileio import note_input
    from survmig.tableio import check_header, csv_parser_error, decode_text

    note_input(path)
    text = decode_text(path.read_bytes(), "utf-8", path, hint="save the file as UTF-8 CSV")
    check_header(text, path)  # a repeated column, under its real name
    try:
        return pd.read_csv(io.StringIO(text))[wanted]  # usecols would let a ragged row pass
    except pd.errors.ParserError as err:
        raise csv_parser_error(err, path) from None
    except ValueError as err:
        raise SurvmigError(f"cannot read this CSV file: {err}", file=path) from None


def _read_stat(path: Path, columns: list[str]) -> pd.DataFrame:
    import pyreadstat

    reader = pyreadstat.read_sav if path.suffix.lower() == ".sav" else pyreadstat.read_dta
    _, meta = reader(str(path), metadataonly=True)
    wanted = [c for c in dict.fromkeys(columns) if c in meta.column_names]
    frame, _ = reader(str(path), usecols=wanted)
    return frame
