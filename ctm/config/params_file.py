"""params.yaml before it is typed: the file read, presets resolved (`extends`), the generic builder that turns YAML
data into ctm.config.specs' dataclasses, and the refusal of Snakemake overrides. Every error is a ConfigError naming
the key's path (ctm.config.schema checks the document against the schema).

read_params() reads the file: UTF-8 only, one YAML document, at most 16 MiB, and aliases bounded (a "billion laughs",
aliases of aliases of aliases, stands for billions of values in a few lines and exhausts memory wherever the value is
walked: the schema check, a deep copy, an error message). check_value_aliases() bounds the aliases of a document
read elsewhere (yaml.safe_load, Snakemake's config) the same way. Every message is one line of bounded length.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import reprlib
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import yaml

from ctm.errors import UserError

MAX_ALIAS_VALUES = 10_000  # values that aliases may add to the whole file (the repository's 4 aliases add 46)
MAX_FILE = 16 << 20  # bytes of params.yaml (the repository's: 20 KB)
MAX_MESSAGE = 300  # characters of a value or a schema message quoted in an error
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxdict, _SHORT.maxlist, _SHORT.maxstring, _SHORT.maxother = 3, 4, 4, 80, 80


class ConfigError(UserError, ValueError):
    """params.yaml is malformed; the message names the key and the file."""


def short(value: Any) -> str:
    """repr(value), bounded: a few items of each container, long strings cut (never the whole expanded value)."""
    return _SHORT.repr(value)


def bounded(text: str, limit: int = MAX_MESSAGE) -> str:
    """`text` on one line, cut after `limit` characters (saying how long it was)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def read_params(path: str | Path) -> Any:
    """The YAML document in `path` (params.yaml), or a ConfigError naming the file: missing, a folder, not UTF-8
    (the line and byte), not valid YAML (the line), or aliases that expand past MAX_ALIAS_VALUES values."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found (run from the repository root or pass --params)") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a params file; pass --params the file itself "
                          f"(e.g. {path / 'params.yaml'})") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read ({err.strerror or err}); check its permissions") from None
    if len(data) > MAX_FILE:
        raise ConfigError(f"{path}: larger than {MAX_FILE >> 20} MiB, which no params file is; pass --params the "
                          "params.yaml to read")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ConfigError(f"{path}: line {line}: byte 0x{data[err.start]:02x} is not UTF-8 (saved as Latin-1 or "
                          "another encoding?); save the file as UTF-8, e.g. `iconv -f latin1 -t utf-8`") from None
    return parse_params_text(text, str(path))


def parse_params_text(text: str, source: str = "params.yaml") -> Any:
    """The YAML document in `text` (`source` names it in errors); see read_params."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)  # libyaml also bounds the nesting depth
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_aliases(node, source)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = ", ".join(x for x in (err.context, err.problem) if x)
        raise ConfigError(bounded(f"{source}: {where}not valid YAML ({what}); fix the file", 2 * MAX_MESSAGE)) \
            from None
    except (yaml.YAMLError, RecursionError) as err:
        raise ConfigError(bounded(f"{source}: not valid YAML ({err or type(err).__name__}); fix the file",
                                   2 * MAX_MESSAGE)) from None
    finally:
        loader.dispose()


def _check_aliases(root: Any, source: str) -> None:
    """Refuse a YAML node graph whose aliases add more than MAX_ALIAS_VALUES nodes once expanded, or that reaches
    itself; the error names the line of the anchored value."""
    from yaml.nodes import MappingNode, SequenceNode

    def children(node: Any, _: str) -> list[tuple[str, Any]]:
        if isinstance(node, SequenceNode):
            nodes = node.value
        elif isinstance(node, MappingNode):
            nodes = [n for pair in node.value for n in pair]
        else:
            nodes = []
        return [(f"line {n.start_mark.line + 1}", n) for n in nodes]

    problem = _shared_values(root, children)
    if problem is not None:
        raise ConfigError(f"{source}: {problem[0]}: {problem[1]}")


def check_value_aliases(raw: Any) -> None:
    """The same bound on data that another reader loaded (yaml.safe_load, Snakemake's config): a list or mapping
    reached more than once is an alias; the error names the key's path."""

    def children(value: Any, where: str) -> list[tuple[str, Any]]:
        if isinstance(value, dict):
            return [(f"{where}.{k}" if where else str(k), v) for k, v in value.items()]
        return [(f"{where}[{i}]", v) for i, v in enumerate(value)] if isinstance(value, list) else []

    problem = _shared_values(raw, children)
    if problem is not None:
        raise ConfigError(f"{bounded(problem[0] or 'top level', 200)}: {problem[1]}")


def _shared_values(root: Any, children) -> tuple[str, str] | None:
    """(where, what) if the graph under `root` (children(x, where) -> [(where, child)]) reaches a node from inside
    itself, or if the nodes reached again (aliases) stand for more than MAX_ALIAS_VALUES nodes; else None. Linear in
    the distinct nodes: each one's expanded size is memoised, never expanded."""
    sizes: dict[int, int] = {}  # id -> nodes it stands for, aliases expanded (finished nodes only)
    added = 0
    stack, open_ = [(root, iter(children(root, "")))], {id(root)}
    while stack:
        node, todo = stack[-1]
        where, child = next(todo, ("", None))
        if child is None:
            stack.pop()
            open_.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes.get(id(c), 1) for _, c in children(node, ""))
        elif not isinstance(child, (dict, list)) and not hasattr(child, "start_mark"):
            continue  # a plain value (str, int, ...): Python shares equal ones, which is no alias
        elif id(child) in open_:
            return where, "an alias refers to the value that contains it (a recursive alias); write it out instead"
        elif id(child) in sizes:  # an alias: the anchored value again
            added += sizes[id(child)]
            if added > MAX_ALIAS_VALUES:
                return where, (f"the aliases up to this value make the file's aliases stand for more than "
                               f"{MAX_ALIAS_VALUES} values (aliases of aliases: a YAML bomb); use an alias only for "
                               "a block written once, or write the values out")
        else:
            stack.append((child, iter(children(child, where))))
            open_.add(id(child))
    return None


def build(cls: Any, data: Any, where: str) -> Any:
    """Build dataclass/list/dict/scalar `cls` from YAML data, naming `where` in every error."""
    origin = get_origin(cls)
    if dataclasses.is_dataclass(cls):
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a mapping, got {short(data)}")
        hints = get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "raw" and f.name != "name"}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(fields)}")
        kwargs = {}
        for name, f in fields.items():
            if name not in data:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise ConfigError(f"{where}.{name}: missing")
                continue
            kwargs[name] = build(hints[name], data[name], f"{where}.{name}")
        return cls(**kwargs)
    if origin is list:
        if not isinstance(data, list):
            raise ConfigError(f"{where}: expected a list, got {short(data)}")
        (item,) = get_args(cls)
        return [build(item, v, f"{where}[{i}]") for i, v in enumerate(data)]
    if origin is dict:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a mapping, got {short(data)}")
        _, value = get_args(cls)
        return {str(k): build(value, v, f"{where}.{k}") for k, v in data.items()}
    args = get_args(cls)
    if args and type(None) in args:  # Optional[X]
        if data is None:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return build(inner, data, where)
    if cls is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    if cls is float and isinstance(data, float) and not math.isfinite(data):
        raise ConfigError(f"{where}: expected a finite number, got {short(data)}")
    if cls in (int, float, str, bool) and not (isinstance(data, cls) and not (cls is int and isinstance(data, bool))):
        raise ConfigError(f"{where}: expected {cls.__name__}, got {short(data)}")
    return data


def _merge(base: Any, over: Any, where: str) -> Any:
    """`over` on top of `base`: mappings key by key (recursively), anything else replaced. A dataset entry
    (`datasets.<name>`) is replaced whole: its files, checksums and source belong together."""
    if not isinstance(base, dict) or not isinstance(over, dict):
        return copy.deepcopy(over)
    merged = copy.deepcopy(base)
    for key, value in over.items():
        whole = where.endswith(".datasets")
        merged[key] = copy.deepcopy(value) if whole or key not in base else _merge(base[key], value, f"{where}.{key}")
    return merged


def complete_presets(presets: dict[str, Any]) -> dict[str, dict]:
    """Every preset as a complete mapping. `extends: P` starts from preset P (itself completed first) and merges the
    preset's own keys over it (_merge); its `description` is its own. Raises ConfigError for an unknown or looping
    `extends`."""
    resolved: dict[str, dict] = {}

    def complete(name: str, chain: tuple[str, ...]) -> dict:
        if name in resolved:
            return resolved[name]
        raw = presets[name]
        if not isinstance(raw, dict):
            raise ConfigError(f"presets.{name}: expected a mapping, got {short(raw)}")
        base_name = raw.get("extends")
        if base_name is None:
            result = copy.deepcopy(raw)
        else:
            if base_name not in presets:
                raise ConfigError(f"presets.{name}.extends: {base_name!r} is not a preset; defined: "
                                  f"{', '.join(presets)}")
            if base_name in chain:
                raise ConfigError(f"presets.{name}.extends: the chain {' -> '.join(chain + (base_name,))} loops")
            base = {k: v for k, v in complete(base_name, chain + (base_name,)).items() if k != "extends"}
            result = _merge(base, raw, f"presets.{name}")
        resolved[name] = result
        return result

    for name in presets:
        complete(name, (name,))
    return resolved


def overridden_keys(config: Any, raw: Any, where: str = "") -> list[str]:
    """Paths of the keys whose value in `config` (Snakemake's, after --config/--configfile) differs from `raw`
    (params.yaml as read), `preset` excepted: the only key that every job is told on its command line."""
    if isinstance(config, dict) and isinstance(raw, dict):
        keys = [k for k in {**raw, **config} if not (where == "" and k == "preset")]
        return [p for k in keys for p in overridden_keys(config.get(k, _ABSENT), raw.get(k, _ABSENT),
                                                         f"{where}.{k}" if where else str(k))]
    return [] if config == raw else [where]


_ABSENT = object()


def refuse_overrides(config: dict, params: str | Path = "params.yaml") -> None:
    """Snakemake's `--config KEY=VALUE` and `--configfile` change Snakemake's copy of params.yaml only; every job
    reads params.yaml itself (as `dvc repro` does), so such a value would be silently ignored. Refuse it."""
    raw = read_params(params)
    changed = overridden_keys(config, raw)
    if changed:
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise ConfigError(
            f"--config/--configfile change {shown} of {params}, but every job reads {params} itself (as `dvc repro` "
            f"does), so the value would be ignored. Only `preset` can be set on the command line "
            f"(--config preset=paper); edit {params} for anything else (`dvc exp run -S KEY=VALUE` edits it too).")
