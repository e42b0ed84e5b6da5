"""A bundle (ctm.engine.bundle) read back into a run folder: from a file path or an http(s)/file URL, fetched with
the resumable verified downloader (ctm.acquire.download), every member checked before anything is unpacked.

An archive is refused, naming the member, when it holds anything but the plain files of MEMBERS (no folders, links,
devices, `..` or absolute names, no member twice), when its manifest is not BUNDLE_FORMAT, when a file's sha256 or
size differs from the manifest's, or when the checkpoint is not one of `ctm train` for the manifest's run. The files
are written to a hidden sibling of the destination, which is then renamed into place: a killed import leaves no
half folder. A URL's download stays in `.<out>.download/` until the import is done, so a cut one resumes.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import uuid
from pathlib import Path
from urllib.parse import urlparse

from ctm import paths
from ctm.engine.bundle import BUNDLE_FORMAT, MANIFEST, MEMBERS, BundleError, sha256_of
from ctm.errors import MissingInputError

MAX_MEMBER_BYTES = 8 << 30  # a checkpoint of the paper's ResNet-101 is ~0.2 GB; refuse a member claiming more


def _is_url(source: str) -> bool:
    return urlparse(source).scheme in ("http", "https", "file")


def _fetch(source: str, download_dir: Path, sha256: str | None, progress: bool) -> Path:
    """The bundle's local path: `source` itself, or its download into `download_dir`."""
    if not _is_url(source):
        path = Path(source)
        if not path.is_file():
            raise MissingInputError(f"{source}: no bundle there; give the path or the http(s)/file URL of a .tar.gz "
                                    "written by `ctm export-run`")
        if sha256 is not None and not sha256_of(path.read_bytes()).startswith(sha256.lower()):
            raise BundleError(f"{source}: its sha256 is not {sha256}; the file differs from the one published")
        return path
    from ctm.acquire.download import download

    name = Path(urlparse(source).path).name or "bundle.tar.gz"
    download_dir.mkdir(parents=True, exist_ok=True)
    return download(source, download_dir / name, sha256=sha256, progress=progress, what="ctm import-run")


def _members(archive: Path) -> dict[str, bytes]:
    """{name: bytes} of the archive's members, each checked to be one of MEMBERS' plain files."""
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            for info in tar:
                if info.name not in MEMBERS:
                    raise BundleError(f"{archive}: member {info.name!r} is not one of a bundle's files {list(MEMBERS)}"
                                      "; not written by `ctm export-run`, nothing is unpacked")
                if not info.isreg():
                    raise BundleError(f"{archive}: member {info.name!r} is not a plain file (a link, folder or "
                                      "device); nothing is unpacked")
                if info.name in found:
                    raise BundleError(f"{archive}: member {info.name!r} appears twice; nothing is unpacked")
                if info.size > MAX_MEMBER_BYTES:
                    raise BundleError(f"{archive}: member {info.name!r} claims {info.size} bytes, more than any "
                                      "bundle's; nothing is unpacked")
                handle = tar.extractfile(info)
                found[info.name] = handle.read() if handle is not None else b""
    except (tarfile.TarError, EOFError, OSError) as err:
        raise BundleError(f"{archive}: not a readable .tar.gz ({type(err).__name__}: {err}); it is cut short or not "
                          "a bundle. Delete it and download it again") from None
    return found


def _manifest(archive: Path, members: dict[str, bytes]) -> dict:
    """The manifest, checked against the members: format, the set of files, each sha256 and size."""
    try:
        manifest = json.loads(members[MANIFEST])
    except KeyError:
        raise BundleError(f"{archive}: holds no {MANIFEST}; not written by `ctm export-run`") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BundleError(f"{archive}: {MANIFEST} is not JSON ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise BundleError(f"{archive}: {MANIFEST} is of format {found!r}, not {BUNDLE_FORMAT!r}; export the run "
                          "again with this version of `ctm export-run`")
    listed = manifest.get("files") or {}
    if set(listed) | {MANIFEST} != set(members):
        raise BundleError(f"{archive}: the manifest lists {sorted(listed)} but the archive holds "
                          f"{sorted(set(members) - {MANIFEST})}; the bundle was altered")
    for name, expected in listed.items():
        data = members[name]
        if sha256_of(data) != expected.get("sha256") or len(data) != expected.get("size"):
            raise BundleError(f"{archive}: {name} has sha256 {sha256_of(data)} ({len(data)} bytes), the manifest "
                              f"says {expected.get('sha256')} ({expected.get('size')} bytes); the bundle was "
                              "altered or damaged, download it again")
    return manifest


def _check_checkpoint(archive: Path, folder: Path, manifest: dict) -> None:
    """The unpacked checkpoint is one of `ctm train` for the manifest's experiment and seed."""
    from ctm.engine.checkpoints import TRAINED_KEYS, load_checkpoint

    summary = load_checkpoint(folder / paths.CHECKPOINT, "checkpoint", TRAINED_KEYS)["summary"]
    mine = {k: summary.get(k) for k in ("experiment", "seed")}
    if mine != {k: manifest.get(k) for k in ("experiment", "seed")}:
        raise BundleError(f"{archive}: its checkpoint is of {mine}, the manifest says experiment "
                          f"{manifest.get('experiment')!r} seed {manifest.get('seed')!r}; the bundle was altered")


def import_run(source: str, out: str | Path, sha256: str | None = None, progress: bool = True) -> dict:
    """Unpack the bundle at `source` (a path, or an http, https or file URL) into the run folder `out`, which must
    not exist or be empty, unless it already holds this very bundle (then nothing is written). `sha256`: the
    bundle's published digest (or a prefix of 8+ digits), checked before it is opened. Returns {"path",
    "checkpoint", "experiment", "seed", "preset", "params_hash", "metrics", "unchanged"}."""
    out = Path(out)
    download_dir = out.parent / f".{out.name}.download"
    archive = _fetch(source, download_dir, sha256, progress)
    members = _members(archive)
    manifest = _manifest(archive, members)
    result = {"path": str(out), "checkpoint": str(paths.checkpoint_in(out)),
              **{k: manifest.get(k) for k in ("experiment", "seed", "preset", "params_hash", "metrics")}}
    if out.is_dir() and any(out.iterdir()):
        present = out / MANIFEST
        if present.is_file() and present.read_bytes() == members[MANIFEST] and all(
                (out / n).is_file() and (out / n).stat().st_size == len(d) for n, d in members.items()):
            shutil.rmtree(download_dir, ignore_errors=True)
            return {**result, "unchanged": True}
        raise BundleError(f"{out}: exists and holds other files; give --out a new folder or remove it")
    if out.exists() and not out.is_dir():
        raise BundleError(f"{out}: is a file; give --out a folder")
    staging = out.parent / f".{out.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    staging.mkdir(parents=True)
    try:
        for name, data in members.items():
            (staging / name).write_bytes(data)
        _check_checkpoint(archive, staging, manifest)
        if out.is_dir():
            out.rmdir()  # empty, checked above
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(download_dir, ignore_errors=True)
    return {**result, "unchanged": False}
