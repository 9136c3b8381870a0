"""Every command's result as a typed record: the one JSON object ``--json`` prints, and its documented schema.

One frozen dataclass per command (two for ``retrieve``: with and without ``--query``); each field carries a
one-line meaning. :func:`to_json` turns a record into the printed object and adds ``command``,
``schema_version`` and ``clipcop_version``; :func:`schema` lists the fields (``docs/cli.md`` is generated
from it) and :func:`validate` checks an object against it. The library's result objects make their records
(e.g. :meth:`clipcop.workflows.pretrain.PretrainResult.record`).

Rules every record follows:

- Accuracies are fractions in [0, 1] (marked ``fraction``); a NaN (no questions of a type) prints as null.
- Paths the command wrote: folders end in ``_dir`` (``run_dir``, ``data_dir``, ``qa_dir``, ``cache_dir``);
  files are named for what they hold (``checkpoint``, ``features``, ``manifest``, ``predictions``,
  ``page``, ``summary``, ``grid``, ``index``, ``neighbours_csv``). A key marked ``when`` is present only
  in that case (e.g. ``grid`` when the picture was written).

The package's modules: :mod:`~clipcop.results.fields` (``doc(...)``, ``Record``, the envelope),
:mod:`~clipcop.results.data_records` and :mod:`~clipcop.results.eval_records` (the records),
:mod:`~clipcop.results.output` (``to_json``, ``to_lines``) and :mod:`~clipcop.results.schema` (``schema``,
``validate``); everything is imported from here.
"""

from __future__ import annotations

from clipcop.results.data_records import (
    CacheRecord,
    CurriculumSampleRecord,
    CurriculumTaskRecord,
    ExtractRecord,
    FinetuneRecord,
    IndexRecord,
    PretrainRecord,
    StageSummary,
    SubsetCounts,
    SynthRecord,
)
from clipcop.results.eval_records import (
    DemoRecord,
    InfoRecord,
    Neighbour,
    QAScores,
    QueryRecord,
    ReportRecord,
    RetrieveRecord,
    VQAEvalRecord,
    VQATrainRecord,
)
from clipcop.results.fields import ENVELOPE, SCHEMA_VERSION, Record
from clipcop.results.fields import doc as doc
from clipcop.results.output import to_json, to_lines
from clipcop.results.schema import ENVELOPE_SCHEMA as ENVELOPE_SCHEMA
from clipcop.results.schema import FieldSchema, schema, validate

RECORDS: tuple[type[Record], ...] = (
    SynthRecord,
    IndexRecord,
    CacheRecord,
    PretrainRecord,
    CurriculumTaskRecord,
    CurriculumSampleRecord,
    ExtractRecord,
    RetrieveRecord,
    QueryRecord,
    FinetuneRecord,
    InfoRecord,
    DemoRecord,
    ReportRecord,
    VQATrainRecord,
    VQAEvalRecord,
)
"""Every record type, in the order of the CLI reference."""


def records_for(command: str) -> tuple[type[Record], ...]:
    """The record types of a command path (``"retrieve"`` has two)."""
    return tuple(r for r in RECORDS if command == r.COMMAND)


__all__ = [
    "ENVELOPE",
    "RECORDS",
    "SCHEMA_VERSION",
    "CacheRecord",
    "CurriculumSampleRecord",
    "CurriculumTaskRecord",
    "DemoRecord",
    "ExtractRecord",
    "FieldSchema",
    "FinetuneRecord",
    "IndexRecord",
    "InfoRecord",
    "Neighbour",
    "PretrainRecord",
    "QAScores",
    "QueryRecord",
    "Record",
    "ReportRecord",
    "RetrieveRecord",
    "StageSummary",
    "SubsetCounts",
    "SynthRecord",
    "VQAEvalRecord",
    "VQATrainRecord",
    "records_for",
    "schema",
    "to_json",
    "to_lines",
    "validate",
]
