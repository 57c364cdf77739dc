"""The C extension is declared here; everything else is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("sample_cext._speedups", sources=["src/sample_cext/_speedups.c"]),
    ],
)
