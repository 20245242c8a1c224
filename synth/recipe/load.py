"""Read a recipe file into a validated ``Recipe``; every failure is a ``RecipeError``
that names the field path, what was found and what was expected."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from synth.core.errors import RecipeError
from synth.recipe.schema import SCHEMA_VERSION, Recipe


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
        got = e.get("input")
        key = (path, msg)
        if key in seen:
            continue
        seen.add(key)
        if e["type"] == "extra_forbidden":
            lines.append(f"{path}: unknown key (got {got!r}); remove it or check its spelling against docs/recipes.md")
        elif e["type"] == "missing":
            lines.append(f"{path}: required field is missing; add it (see docs/recipes.md)")
        else:
            got_s = repr(got)
            if len(got_s) > 80:
                got_s = got_s[:77] + "..."
            lines.append(f"{path}: {msg} (got {got_s})")
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
    if version != SCHEMA_VERSION:
        raise RecipeError(f"{source}: schema_version: expected {SCHEMA_VERSION}, got {version!r}; "
                          f"this synth reads schema {SCHEMA_VERSION} recipes")
    try:
        return Recipe.model_validate(data)
    except ValidationError as err:
        raise RecipeError(_format_validation_error(err, source)) from None


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Read and validate a YAML recipe. Relative file paths inside are resolved from the current directory."""
    p = Path(path)
    if not p.is_file():
        raise RecipeError(f"{p}: recipe file not found; give the path of a YAML recipe such as scenes/demo.yaml")
    text = p.read_text(encoding="utf-8")
    return load_recipe_text(text, str(p))


def load_recipe_text(text: str, source: str = "<recipe>") -> Recipe:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise RecipeError(f"{source}: invalid YAML{where}: {problem}; fix the syntax (indentation, colons, brackets)") from None
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
