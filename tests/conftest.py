"""Shared fixtures: hand-written articles, and the corpus folder where one is present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests assert what holds, not how fast: a 2-core machine under load must not fail them on time.
settings.register_profile("propscope", deadline=None, suppress_health_check=[HealthCheck.too_slow])
# CI proves the same examples on every run (a gate that passes or fails by chance helps no one); runs elsewhere
# draw new examples each time, which is how new defects are found (PROPSCOPE_HYPOTHESIS=ci to replay CI's).
settings.register_profile("ci", parent=settings.get_profile("propscope"), derandomize=True)
settings.load_profile(os.environ.get("PROPSCOPE_HYPOTHESIS", "propscope"))

REPO = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLE = REPO / "examples" / "sample_article.txt"
CHROMIUM = os.environ.get("PROPSCOPE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def corpus_root() -> Path:
    return Path(os.environ.get("PROPSCOPE_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def ptc_dir() -> Path:
    path = corpus_root() / "ptc-v2"
    if not (path / "train-articles").is_dir():
        pytest.skip(f"PTC corpus not found at {path} (set PROPSCOPE_DATA to the data folder)")
    return path


@pytest.fixture
def sample_text() -> str:
    return SAMPLE_ARTICLE.read_text(encoding="utf-8")


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """A PTC-shaped folder of four short hand-written articles with labels."""
    root = tmp_path / "ptc"
    (root / "train-articles").mkdir(parents=True)
    (root / "splits").mkdir()
    texts = {
        "1": "A shameful plan\n\nThe reckless council approved a shameful plan.\nCritics called it a disgrace.\n",
        "2": "Our town\n\nReal patriots love this harbour.\nEither you back us or you hate the town.\n",
        "3": "Jobs first\n\nJobs first, they chanted. Jobs first!\nCan we trust the mayor?\n",
        "4": "Quiet week\n\nThe market opened at nine.\nTraffic was light on the bridge.\n",
    }
    labels = []
    for article_id, text in texts.items():
        (root / "train-articles" / f"article{article_id}.txt").write_text(text, encoding="utf-8", newline="")
    for article_id, technique, phrase in [
        ("1", "Loaded_Language", "reckless"),
        ("1", "Loaded_Language", "shameful"),
        ("1", "Name_Calling,Labeling", "a disgrace"),
        ("2", "Flag-Waving", "Real patriots love this harbour"),
        ("2", "Black-and-White_Fallacy", "Either you back us or you hate the town"),
        ("3", "Slogans", "Jobs first"),
        ("3", "Repetition", "Jobs first"),
        ("3", "Doubt", "Can we trust the mayor?"),
    ]:
        start = texts[article_id].index(phrase, texts[article_id].index("\n\n"))
        labels.append(f"{article_id}\t{technique}\t{start}\t{start + len(phrase)}\n")
    (root / "train-task-flc-tc.labels").write_text("".join(labels), encoding="utf-8")
    (root / "splits" / "train-ids.txt").write_text("1\n2\n3\n", encoding="utf-8")
    (root / "splits" / "validation-ids.txt").write_text("4\n1\n", encoding="utf-8")
    return root


@pytest.fixture
def encoder_tokenizer_path() -> str:
    """The tokenizer shipped with the default model (identical to the base encoder's)."""
    return str(REPO / "src" / "propscope" / "resources" / "models" / "default" / "tokenizer.json")


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set PROPSCOPE_CHROMIUM)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    """Debian's Chromium driven by Playwright, once per module: Playwright's sync API runs an event loop in the
    main thread while it lives, and the tests of other modules call ``asyncio.run``."""
    missing = _browser_missing()
    if missing:
        if os.environ.get("PROPSCOPE_REQUIRE_BROWSER"):
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            args=CHROMIUM_FLAGS,
            headless=True,
            viewport={"width": 1200, "height": 900},
        )
        yield context
        context.close()


@pytest.fixture
def tiny_installed_encoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A 2-layer MPNet with MPNet's kind of tokenizer, installed the way the base-size encoder is: three fake
    packages, each holding one slice of a zip of its folder, found on ``sys.path``; registered as encoder "tiny"
    with its SHA-256, and a cache of its own (``PROPSCOPE_CACHE``)."""
    import hashlib
    import zipfile

    from tokenizers import Tokenizer
    from tokenizers.processors import RobertaProcessing
    from transformers import MPNetConfig, MPNetModel

    from propscope.model import encoders
    from propscope.model.encoders import Encoder, encoder_folder

    folder = tmp_path / "tiny-encoder" / "tiny"
    # MPNet's tokenizer: BERT's word pieces, framed by <s> ... </s> and padded with <pad> (its vocabulary also
    # holds a [CLS] and a [SEP] that it does not use)
    tokenizer = Tokenizer.from_file(str(encoder_folder("all-MiniLM-L6-v2") / "tokenizer.json"))
    tokenizer.add_special_tokens(["<s>", "</s>", "<pad>"])
    opening, close, pad = (tokenizer.token_to_id(token) for token in ("<s>", "</s>", "<pad>"))
    tokenizer.post_processor = RobertaProcessing(("</s>", close), ("<s>", opening))
    tokenizer.enable_padding(pad_id=pad, pad_token="<pad>")
    config = MPNetConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        pad_token_id=pad,
    )
    MPNetModel(config).save_pretrained(str(folder))
    tokenizer.save(str(folder / "tokenizer.json"))
    archive = tmp_path / "tiny.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(folder.iterdir()):
            out.write(path, f"tiny/{path.name}")
    data = archive.read_bytes()
    site = tmp_path / "site"
    packages = []
    third = len(data) // 3 + 1
    for k in range(3):
        package, member = f"tiny-part-00{k + 1}", f"tiny-part_00{k + 1}/input/tiny.zip.00{k + 1}"
        (site / member).parent.mkdir(parents=True)
        (site / member).write_bytes(data[k * third : (k + 1) * third])
        info = site / f"tiny_part_00{k + 1}-0.0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.0.1\n", encoding="utf-8")
        (info / "RECORD").write_text(f"{member},,\n", encoding="utf-8")
        packages.append(package)
    monkeypatch.syspath_prepend(str(site))
    digest = hashlib.sha256(data).hexdigest()
    tiny = Encoder("tiny", "a tiny MPNet", tuple(packages), digest, "pip install tiny-part-001 tiny-part-002 …")
    monkeypatch.setitem(encoders.ENCODERS, "tiny", tiny)
    monkeypatch.setenv("PROPSCOPE_CACHE", str(tmp_path / "cache"))
    return "tiny"
