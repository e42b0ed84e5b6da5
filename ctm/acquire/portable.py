"""Text for files that DVC tracks, free of this machine's paths: a tree moved to another folder or checked out on
another machine keeps its bytes (and DVC its hashes)."""

from __future__ import annotations

import urllib.parse
import urllib.request
from pathlib import Path


def portable_reason(reason: str, root: Path, url_template: str) -> str:
    """A clips manifest's `reason` (ctm.acquire.youtube) without this machine's paths: the dataset root becomes
    `<root>`, the folder of a file:// URL template (a synthetic preset's "YouTube") `<clips>`."""
    names = {str(Path(root).resolve()): "<root>", str(Path(root).absolute()): "<root>"}
    if url_template.startswith("file:"):
        folder = Path(urllib.request.url2pathname(urllib.parse.urlparse(url_template).path)).parent
        names.update({str(folder): "<clips>", f"file://{folder}": "<clips>"})
    for where in sorted(names, key=len, reverse=True):
        reason = reason.replace(where, names[where])
    return reason
