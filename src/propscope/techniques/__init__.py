"""The technique catalogue."""

from propscope.techniques.catalogue import (
    TECHNIQUE_NAMES,
    TECHNIQUES,
    Technique,
    UnknownTechniqueError,
    get_technique,
    is_technique,
)

__all__ = [
    "TECHNIQUES",
    "TECHNIQUE_NAMES",
    "Technique",
    "UnknownTechniqueError",
    "get_technique",
    "is_technique",
]
