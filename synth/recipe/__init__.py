"""Recipe schema (YAML, pydantic v2) and ``sample_scene`` -> ``SceneSpec``."""

from synth.recipe.load import (
    load_recipe,
    load_recipe_text,
    parse_recipe,
    recipe_to_dict,
)
from synth.recipe.schema import SCHEMA_VERSION, Recipe

__all__ = ["Recipe", "SCHEMA_VERSION", "load_recipe", "load_recipe_text", "parse_recipe", "recipe_to_dict"]
