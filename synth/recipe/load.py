"""Read a recipe file into a validated ``Recipe``; every failure is a ``RecipeError``
that names the field path, what was found and what was expected."""

from __future__ import annotations

import os
import reprlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from synth.core.errors import RecipeError
from synth.recipe.schema import SCHEMA_VERSION, Recipe

#: a recipe is a short hand-written file; anything bigger is a mistake (or an attack on the parser)
MAX_RECIPE_BYTES = 1 << 20
#: YAML nodes after expanding aliases (an "alias bomb" of 9 levels x 9 makes 387 million)
MAX_RECIPE_NODES = 100_000
#: mapping / list nesting (the schema itself is 6 deep)
MAX_RECIPE_DEPTH = 32

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60
_short.maxlist = _short.maxtuple = _short.maxdict = _short.maxset = 6
_short.maxlevel = 3


def short_repr(value: Any) -> str:
    """``repr`` cut to about 80 characters, without building the full repr of a huge value."""
    out = _short.repr(value)
    return out if len(out) <= 80 else out[:77] + "..."


def _format_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("Uniform", "Normal", "Choice", "float", "int") or "literal" in str(part) or str(part).startswith("function-"):
            continue  # union branch names carry no meaning for the user
        else:
            out += ("." if out else "") + str(part)
    return out or "<top level>"


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = []
    seen = set()
    for e in err.errors():
        path = _format_loc(tuple(e["loc"]))
        msg = e["msg"].removeprefix("Value error, ")
        if len(msg) > 400:
            msg = msg[:397] + "..."
        got = e.get("input")
        key = (path, msg)
        if key in seen:
            continue
        seen.add(key)
        if e["type"] == "extra_forbidden":
            lines.append(f"{path}: unknown key (got {short_repr(got)}); remove it or check its spelling against "
                         "docs/recipes.md")
        elif e["type"] == "missing":
            lines.append(f"{path}: required field is missing; add it (see docs/recipes.md)")
        else:
            lines.append(f"{path}: {msg} (got {short_repr(got)})")
    # unions report every branch; keep it readable
    if len(lines) > 8:
        lines = lines[:8] + [f"... and {len(lines) - 8} more"]
    return f"{source}: invalid recipe:\n  " + "\n  ".join(lines)


def parse_recipe(data: Any, source: str = "<recipe>") -> Recipe:
    """Validate already-parsed YAML data."""
    if not isinstance(data, dict):
        raise RecipeError(f"{source}: expected a mapping at the top level (key: value lines), got {type(data).__name__}")
    version = data.get("schema_version")
    if version is None:
        raise RecipeError(f"{source}: schema_version: required field is missing; add 'schema_version: {SCHEMA_VERSION}'")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise RecipeError(f"{source}: schema_version: expected {SCHEMA_VERSION}, got {short_repr(version)}; "
                          f"this synth reads schema {SCHEMA_VERSION} recipes")
    try:
        return Recipe.model_validate(data)
    except ValidationError as err:
        raise RecipeError(_format_validation_error(err, source)) from None


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Read and validate a YAML recipe. Relative file paths inside are resolved from the current directory."""
    return load_recipe_text(read_recipe_text(path), str(path))


def read_recipe_text(path: str | os.PathLike) -> str:
    """The text of a recipe file: an existing regular file of at most MAX_RECIPE_BYTES, UTF-8."""
    p = Path(path)
    if str(path) == "":
        raise RecipeError("recipe: got an empty path; give the path of a YAML recipe such as scenes/demo.yaml")
    if not p.is_file():
        what = "is a folder, not a file" if p.is_dir() else "not found"
        raise RecipeError(f"{p}: recipe file {what}; give the path of a YAML recipe such as scenes/demo.yaml")
    try:
        size = p.stat().st_size
        if size > MAX_RECIPE_BYTES:
            raise RecipeError(f"{p}: recipe file is {size} bytes, expected at most {MAX_RECIPE_BYTES}; "
                              "a recipe is a short YAML file (see scenes/demo.yaml)")
        with open(p, "rb") as f:
            raw = f.read(MAX_RECIPE_BYTES + 1)
    except OSError as err:
        raise RecipeError(f"{p}: cannot read the recipe ({err.strerror}); check the path and its permissions") from None
    return decode_recipe_bytes(raw, str(p))


def decode_recipe_bytes(raw: bytes, source: str) -> str:
    if len(raw) > MAX_RECIPE_BYTES:
        raise RecipeError(f"{source}: recipe is over {MAX_RECIPE_BYTES} bytes; a recipe is a short YAML file")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(raw) > 1 and (raw[0] == 0 or raw[1] == 0)):
        raise RecipeError(f"{source}: recipe is UTF-16 text, expected UTF-8; save the file as UTF-8")
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise RecipeError(f"{source}: line {line}: byte 0x{raw[err.start]:02x} is not UTF-8 text; save the recipe "
                          "as UTF-8") from None


class _RecipeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys (naming both lines) and bounds nesting and size."""

    def compose_document(self):
        node = super().compose_document()
        _check_node_tree(node, self.name)
        return node

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first_line: dict[Any, int] = {}
            for key_node, _ in node.value:   # the keys written in this mapping (merged '<<' ones may be overridden)
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    raise yaml.constructor.ConstructorError(
                        None, None, "a mapping key must be a plain value, not a list or mapping", key_node.start_mark)
                key = self.construct_object(key_node, deep=deep)
                line = key_node.start_mark.line + 1
                if key in first_line:
                    raise RecipeError(f"{self.name}: duplicate key {short_repr(key)} at lines {first_line[key]} and "
                                      f"{line}; keep one of them")
                first_line[key] = line
        return super().construct_mapping(node, deep=deep)


def _check_node_tree(root, source: str) -> None:
    """Count nodes with aliases expanded (as the constructed data will be) and measure the depth, iteratively."""
    if root is None:
        return
    count = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_RECIPE_NODES:
            raise RecipeError(f"{source}: the recipe expands to over {MAX_RECIPE_NODES} values (YAML aliases "
                              "repeating big blocks?); write the values out, a recipe needs a few hundred")
        if depth > MAX_RECIPE_DEPTH:
            line = node.start_mark.line + 1
            raise RecipeError(f"{source}: line {line}: nesting deeper than {MAX_RECIPE_DEPTH} levels; a recipe is "
                              "at most a few levels deep (see scenes/demo.yaml)")
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack.append((k, depth + 1))
                stack.append((v, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((v, depth + 1) for v in node.value)


def load_recipe_text(text: str, source: str = "<recipe>") -> Recipe:
    if len(text) > MAX_RECIPE_BYTES:
        raise RecipeError(f"{source}: recipe is over {MAX_RECIPE_BYTES} characters; a recipe is a short YAML file")
    loader = _RecipeLoader(text)
    loader.name = source
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise RecipeError(f"{source}: invalid YAML{where}: {problem}; fix the syntax (indentation, colons, brackets)") from None
    except RecursionError:
        raise RecipeError(f"{source}: nesting too deep to read; a recipe is at most a few levels deep "
                          "(see scenes/demo.yaml)") from None
    finally:
        loader.dispose()
    return parse_recipe(data, source)


def recipe_to_dict(recipe: Recipe) -> dict:
    """The fully resolved recipe (defaults filled in) as plain JSON-able data."""
    return recipe.model_dump(mode="json")


def load_recipe_with_overrides(path: str | os.PathLike, scenes: int | None = None, seed: int | None = None) -> Recipe:
    """``load_recipe`` with command-line overrides of the number of scenes and the seed (validated again)."""
    recipe = load_recipe(path)
    if scenes is None and seed is None:
        return recipe
    d = recipe_to_dict(recipe)
    if scenes is not None:
        d["scenes"] = scenes
    if seed is not None:
        d["seed"] = seed
    return parse_recipe(d, f"{path} (with command-line overrides)")
