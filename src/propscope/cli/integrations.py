"""Commands for the annotation round trip with Label Studio: export pre-annotated tasks, import corrections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

import propscope
from propscope.cli.analysis import read_inputs
from propscope.cli.app import (
    MinScoreOption,
    ModelOption,
    app,
    check_distinct,
    check_output_path,
    examples,
    input_paths,
    output_stream,
    path_argument,
    reports_errors,
    stderr,
)
from propscope.corpus.folder import LABELS_FILE, write_corpus_folder
from propscope.errors import InputError
from propscope.integrations import labelstudio


def _batch_tasks(path: Path, min_score: float) -> list[dict]:
    """Tasks from the lines of a ``propscope batch`` output, already analyzed."""
    tasks = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                row["spans"] = [span for span in row["spans"] if span["score"] >= min_score]
                tasks.append(labelstudio.task(row))
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise InputError(f"{path}:{number}: not a PropScope analysis line ({err})") from None
    return tasks


@app.command(
    "export",
    epilog=examples(
        "propscope export article.txt -o tasks.json --labeling-config propscope.xml",
        "propscope export out.jsonl -o tasks.json --min-score 0.25   # batch output, the surer spans",
    ),
)
@reports_errors
def export_command(
    paths: Annotated[
        list[str],
        typer.Argument(help="Text files, folders of article<ID>.txt, - for stdin, or .jsonl output of batch."),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Label Studio tasks (JSON) to import.")],
    labeling_config: Annotated[
        Path | None, typer.Option(help="Also write the labeling config (XML) for the 14 techniques here.")
    ] = None,
    model: ModelOption = "default",
    min_score: MinScoreOption = 0.0,
) -> None:
    """Write analyses as Label Studio tasks, PropScope's spans as pre-annotations to correct."""
    check_output_path(output, input_paths(paths))
    check_distinct({"--output": output, "--labeling-config": labeling_config})
    if labeling_config is not None:
        check_output_path(labeling_config, input_paths(paths))
    analyzed = [p for p in paths if p.endswith(".jsonl")]
    tasks = [task for p in analyzed for task in _batch_tasks(path_argument(p), min_score)]
    articles = read_inputs([p for p in paths if not p.endswith(".jsonl")]) if len(analyzed) < len(paths) else []
    if articles:
        analyzer = propscope.load_analyzer(model)
        tasks += [labelstudio.task(analyzer.analyze(article).above(min_score).to_dict()) for article in articles]
    with output_stream(output) as out:
        json.dump(tasks, out, ensure_ascii=False, indent=1)
    if labeling_config is not None:
        with output_stream(labeling_config) as out:
            out.write(labelstudio.labeling_config())
    stderr.print(f"{len(tasks)} tasks written to {output}", highlight=False)


@app.command("import", epilog=examples("propscope import export.json -o corrected/"))
@reports_errors
def import_command(
    export: Annotated[Path, typer.Argument(help="A Label Studio JSON export.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Corpus folder: article<ID>.txt and labels.")],
) -> None:
    """Turn annotated Label Studio tasks into corpus files to train on."""
    imported = labelstudio.read_export(export)
    write_corpus_folder(output, imported.articles, imported.labels)
    stderr.print(
        f"{len(imported.articles)} articles and {len(imported.labels)} spans written to {output} "
        f"(labels in {output / LABELS_FILE}); {imported.skipped} tasks without a submitted annotation skipped",
        highlight=False,
    )
