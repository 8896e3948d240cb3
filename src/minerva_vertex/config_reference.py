"""The configuration reference (docs/configuration.md), written from workflow/schemas/.

The schemas are the one source of every key, its type, range, default and meaning; this
module only lays them out as Markdown, so the manual cannot drift from what `snakemake`
validates. `python -m minerva_vertex.config_reference docs/configuration.md` rewrites it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from minerva_vertex import safe_write

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "workflow" / "schemas"
ROOT_SCHEMA = "config.schema.yaml"
HEADER = """# Configuration reference

Every key the pipeline reads, with its type, range, default and meaning. This page is
written from `workflow/schemas/` (the one place defaults live) by
`python -m minerva_vertex.config_reference docs/configuration.md`; a test fails when it
is out of date. `<name>` stands for a name you choose (a sample, model, comparison or
physics model). `snakemake` validates the configuration against the same schemas before
any job runs; a key given in `--configfile my.yaml` replaces the default's.
"""


@dataclass(frozen=True)
class KeyRow:
    """One documented key: its dotted path and what the schema says of it."""

    path: str
    kind: str
    default: str
    description: str


class SchemaFiles:
    """The schema files of one directory, with `$ref`s resolved across them."""

    def __init__(self, directory: Path = SCHEMA_DIR):
        self.directory = Path(directory)
        self._loaded: dict[str, dict] = {}

    def load(self, name: str) -> dict:
        if name not in self._loaded:
            self._loaded[name] = yaml.safe_load((self.directory / name).read_text())
        return self._loaded[name]

    def resolve(self, node: Mapping, current: str) -> tuple[Mapping, str]:
        """The node a `$ref` points at (and the file it lives in); other nodes as they are."""
        ref = node.get("$ref")
        if ref is None:
            return node, current
        file_part, _, pointer = ref.partition("#")
        target_file = file_part or current
        target = self.load(target_file)
        for part in filter(None, pointer.split("/")):
            target = target[part]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return merged, target_file


def _kind(node: Mapping) -> str:
    if "enum" in node:
        return " \\| ".join(f"`{value}`" for value in node["enum"])
    if "const" in node:
        return f"`{node['const']}`"
    options = node.get("oneOf", node.get("anyOf", []))
    if options and not _choice_of_keys(node):
        return " or ".join(_kind(option) for option in options)
    kind = node.get("type", "")
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    if kind == "array" and isinstance(node.get("items"), Mapping):
        item_kind = _kind(node["items"])
        kind = f"list of {item_kind}" if item_kind else "list"
    return kind + _range(node)


def _choice_of_keys(node: Mapping) -> list[str]:
    """The keys of which exactly one must be given, for a `oneOf` of `required` lists."""
    options = node.get("oneOf", [])
    if options and all(set(option) == {"required"} for option in options):
        return [key for option in options for key in option["required"]]
    return []


def _range(node: Mapping) -> str:
    low = node.get("minimum", node.get("exclusiveMinimum"))
    high = node.get("maximum", node.get("exclusiveMaximum"))
    if low is None and high is None:
        return ""
    low_text = "" if low is None else ("> " if "exclusiveMinimum" in node else "≥ ") + str(low)
    high_text = "" if high is None else ("< " if "exclusiveMaximum" in node else "≤ ") + str(high)
    return " (" + ", ".join(filter(None, (low_text, high_text))) + ")"


def _default(node: Mapping) -> str:
    if "default" not in node:
        return ""
    value = node["default"]
    if value in ({}, []):
        return ""
    return "`" + json.dumps(value) + "`"


def _description(node: Mapping, required: bool) -> str:
    text = " ".join(str(node.get("description", "")).split())
    choice = _choice_of_keys(node)
    if choice:
        text = (text + " Exactly one of " + ", ".join(f"`{key}`" for key in choice) + ".").strip()
    return ("**Required.** " + text).strip() if required else text


def _rows(schemas: SchemaFiles, node: Mapping, current: str, path: str, required: bool) -> Iterator[KeyRow]:
    node, current = schemas.resolve(node, current)
    yield KeyRow(path, _kind(node), _default(node), _description(node, required))
    needed = set(node.get("required", []))
    for name, child in node.get("properties", {}).items():
        yield from _rows(schemas, child, current, f"{path}.{name}", name in needed)
    entries = node.get("additionalProperties")
    if isinstance(entries, Mapping):
        yield from _rows(schemas, entries, current, f"{path}.<name>", False)


def _table(rows: list[KeyRow]) -> str:
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for row in rows:
        description = row.description.replace("|", "\\|")
        lines.append(f"| `{row.path}` | {row.kind} | {row.default} | {description} |")
    return "\n".join(lines)


def reference_markdown(directory: Path = SCHEMA_DIR) -> str:
    """The whole reference page, one section per top-level key of the configuration."""
    schemas = SchemaFiles(directory)
    root = schemas.load(ROOT_SCHEMA)
    needed = set(root.get("required", []))
    parts = [HEADER]
    for name, node in root["properties"].items():
        rows = list(_rows(schemas, node, ROOT_SCHEMA, name, name in needed))
        section = rows[0]
        parts.append(f"## `{name}`\n\n{section.description}\n\n{_table(rows[1:] if len(rows) > 1 else rows)}\n")
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m minerva_vertex.config_reference OUTPUT.md", file=sys.stderr)
        return 2
    safe_write.write_text(argv[0], reference_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
