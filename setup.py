"""Build configuration that pyproject.toml cannot express on its own.

Alembic's environment lives at the repository's root in ``migrations/`` (where
operators and reviewers look for it) and ships inside the package as
``voicebridge.migrations``, so ``voicebridge migrate`` works from a wheel.
"""

from setuptools import find_namespace_packages, setup

setup(
    package_dir={"": "src", "voicebridge.migrations": "migrations"},
    packages=[
        *find_namespace_packages("src", include=["voicebridge*"], exclude=["*.__pycache__"]),
        "voicebridge.migrations",
        "voicebridge.migrations.versions",
    ],
)
