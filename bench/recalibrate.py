"""Re-measure a shipped model's chosen figures with today's decoding and refit its score calibration, for a model
whose reading was chosen on the validation split by a stand-in (`accurate`; the default's reading is chosen on the
yardstick by `propscope train`, which this would undo).

    python bench/recalibrate.py accurate=STAND_IN [NAME=STAND_IN ...]

A stand-in is the shipped model with the verifier trained on the training split alone (the shipped one learned
from the validation articles too): it reads the 74 validation articles unseen. The curve (raw score, peak and
technique) is scored five-fold by article, then fitted on all of them; the model's meta.json and MODEL_CARD.md are
rewritten.
"""

import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

from benchmark import validation_articles

from propscope.corpus import read_labels
from propscope.model.ensemble import load_model
from propscope.model.inference import Decoding
from propscope.pipeline.analyzer import Analyzer
from propscope.training.card import ensemble_card, model_card
from propscope.training.evaluation import evaluate_encoded
from propscope.training.recipe import outcomes

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "src" / "propscope" / "resources" / "models"


def refit(name: str, stand_in: Path, articles: list, labels: dict) -> None:
    model = load_model(stand_in, threads=2)
    encoded = [(model, a, model.encode(a.text)) for a in articles]
    gold = [g for a in articles for g in labels.get(a.id, [])]
    figures = evaluate_encoded(((Analyzer(m), a, e) for m, a, e in encoded), gold).as_dict()
    found = outcomes(encoded, labels)
    five_fold = replace(found, readers=found.articles % 5)  # the curve scored on articles it was not fitted to
    meta_path = MODELS / name / "meta.json"
    meta = json.loads(meta_path.read_text("utf-8"))
    meta["decoding"] = asdict(Decoding(**meta["decoding"]))
    meta["held_out_figures"] = figures
    meta["fold_figures"] = {t: {"folds": [figures[t]["f1"]], "mean": figures[t]["f1"], "std": 0.0} for t in figures}
    meta["calibration"] = found.fit().as_dict()
    meta["calibration_figures"] = {"measured_on": "cross_validated"} | five_fold.cross_fitted_figures()
    meta_path.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", "utf-8")
    card = ensemble_card(meta, MODELS / name) if "members" in meta else model_card(meta, MODELS / name)
    (MODELS / name / "MODEL_CARD.md").write_text(card, "utf-8")
    print(name, {t: figures[t]["f1"] for t in figures}, meta["calibration"], meta["calibration_figures"])


def main() -> None:
    data = REPO.parent / "shared" / "data" / "ptc-v2"
    articles = validation_articles(data)
    labels: dict = {}
    for label in read_labels(data / "train-task-flc-tc.labels"):
        labels.setdefault(label.article_id, []).append(label)
    for pair in sys.argv[1:]:
        name, _, stand_in = pair.partition("=")
        if not stand_in:
            raise SystemExit(f"expected NAME=STAND_IN, got {pair!r}")
        refit(name, Path(stand_in), articles, labels)


if __name__ == "__main__":
    main()
