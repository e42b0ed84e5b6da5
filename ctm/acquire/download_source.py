"""Opening a download's source (http, https, file://) at a byte offset, trusting none of the server's headers.

Split from ctm.acquire.download (the resume, verify and record loop). An answer is taken only when its headers agree
with the request and with each other: a Content-Length that is a byte count; a 206 with a Content-Range that starts
where asked (the whole file, if no Range was asked for) and agrees with the Content-Length; no Content-Encoding
(identity is asked for; see `_check`). A 416, or a 206 from another offset, starts again from byte 0 once, never in a
loop. Anything else is a DownloadError, one line naming the URL and what to do; nothing is written before the answer
is checked.
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import BinaryIO

from ctm.errors import UserError

FATAL_HTTP = {400, 401, 403, 404, 405, 410, 451}
USER_AGENT = "ctm-repro (python urllib)"
MIRROR = "the server misbehaves: use another mirror (params.yaml), or put the file in place by hand"


class DownloadError(UserError, RuntimeError):
    """A download failed for good or its checksum did not match; the message names the URL and what to do."""


class Transient(Exception):
    """A failure worth retrying (5xx, dropped connection, short body)."""


def open_source(url: str, have: int, timeout_s: float) -> tuple[BinaryIO, int, int | None, bool]:
    """(stream, offset of its first byte, total size or None, framed) for `url` from byte `have` on: `have`, or 0
    when the server starts again from the beginning. The size is None only when the server gives none; `framed` is
    False when the body's end is not known either (not chunked: a cut looks like the end), True otherwise (a size, or
    a chunked body whose end http.client checks)."""
    if url.startswith("file:"):
        path = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
        if not path.is_file():
            raise DownloadError(f"{url}: no such file {path}")
        size = path.stat().st_size
        f = open(path, "rb")
        start = have if have <= size else 0
        f.seek(start)
        return f, start, size, True
    for offset in ([have, 0] if have else [0]):  # at most one new start from byte 0: no loop, whatever the answers
        # identity: a compressed body is not the file's bytes, and a Range of it would not be a range of the file
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity",
                   **({"Range": f"bytes={offset}-"} if offset else {})}
        try:
            response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s)
        except urllib.error.HTTPError as err:
            err.close()
            if err.code == 416 and offset:  # the .part is complete (then checked), or longer than the file
                match = re.fullmatch(r"bytes \*/(\d+)", (err.headers.get("Content-Range") or "").strip())
                if match and int(match.group(1)) == offset:
                    return open(os.devnull, "rb"), offset, offset, True
                continue
            if err.code == 416:
                raise DownloadError(f"{url}: answered HTTP 416 (range not satisfiable) to a request for the whole "
                                    f"file; {MIRROR}") from None
            if err.code in FATAL_HTTP:
                raise DownloadError(f"{url}: HTTP {err.code} {err.reason}; check the URL (or the mirror in "
                                    "params.yaml), or put the file in place by hand") from None
            raise Transient(f"HTTP {err.code} {err.reason}") from None
        try:
            opened = _check(url, response, offset)
        except BaseException:
            response.close()
            raise
        if opened is not None:
            return response, *opened
        response.close()  # a 206 from another offset: start again from byte 0
    raise DownloadError(f"{url}: answered a request for the whole file with part of it; {MIRROR}")


def _check(url: str, response, offset: int) -> tuple[int, int | None, bool] | None:
    """(start, total, framed) of an answer to a request from byte `offset`, None to ask again from byte 0, or a
    DownloadError when the headers cannot be trusted."""
    headers = response.headers
    encoding = ",".join(headers.get_all("Content-Encoding") or []).strip().lower()
    if encoding not in ("", "identity") and not (encoding in ("gzip", "x-gzip") and _gzip_name(url)):
        raise DownloadError(f"{url}: the server sent the file {encoding[:40]}-encoded (Content-Encoding) although "
                            f"only identity was asked for, so the body is not the file's bytes; {MIRROR}")
    # (gzip on a .gz/.tgz name is the file itself, mislabelled by many servers: kept as sent, as curl and wget do)
    chunked = "chunked" in ",".join(headers.get_all("Transfer-Encoding") or []).lower()
    length = None if chunked else _content_length(url, headers)
    if response.status not in (200, 203, 206):
        raise DownloadError(f"{url}: answered HTTP {response.status} {response.reason}, not the file; {MIRROR}")
    if response.status != 206:
        return 0, length, length is not None or chunked  # the whole file (also a server that ignores Range)
    content_range = (headers.get("Content-Range") or "").strip()
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", content_range)
    first, last = (int(match.group(1)), int(match.group(2))) if match else (0, -1)
    total = int(match.group(3)) if match and match.group(3) != "*" else None
    valid = match is not None and first <= last and (total is None or last < total)
    if not offset and not (valid and first == 0 and last + 1 == total):  # only the whole file answers a plain GET
        raise DownloadError(f"{url}: answered 206 Partial Content ({content_range[:60] or 'no Content-Range'}) to "
                            f"a request for the whole file, so the body is only part of it; {MIRROR}")
    if not valid:
        raise DownloadError(f"{url}: answered 206 with Content-Range {content_range[:60]!r}, which is not a range "
                            f"of the file; {MIRROR}")
    if length is not None and length != last - first + 1:
        raise DownloadError(f"{url}: answered 206 with Content-Length {length} for Content-Range {content_range} "
                            f"({last - first + 1} bytes); {MIRROR}")
    if first != offset:
        return None
    return offset, total, total is not None or chunked


def _content_length(url: str, headers) -> int | None:
    """The Content-Length as a byte count (repeats of one value allowed), None if absent; a DownloadError if it is
    not a byte count (http.client would treat such a body as unframed)."""
    values = {v.strip() for value in headers.get_all("Content-Length") or [] for v in value.split(",")}
    if not values:
        return None
    value = values.pop() if len(values) == 1 else ", ".join(sorted(values))
    if not re.fullmatch(r"\d{1,20}", value):
        raise DownloadError(f"{url}: the server sent Content-Length {value[:40]!r}, which is not a byte count; "
                            f"{MIRROR}")
    return int(value)


def _gzip_name(url: str) -> bool:
    return urllib.parse.urlparse(url).path.lower().endswith((".gz", ".tgz"))
