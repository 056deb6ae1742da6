"""PropScope inside other tools: a spaCy pipeline component and Label Studio tasks and exports.

Each needs its own extra (spaCy) or none (Label Studio's JSON), so the base install stays small.
"""
