"""The seed-style workflow's jobs, the baseline of bench_release.py: one job per run.

    python benchmarks/seed_workflow.py build|release|publish DIST --api URL --repository O/R
        --tag TAG --index TESTPYPI_URL --index PYPI_URL      (GITHUB_TOKEN, TWINE_* from env)

build: `sha256sum *` for the provenance; release: a PyGithub draft (PyGithub's default
throttling and retries) and `upload_asset` per file; publish: one `twine upload dist/*` per
index. Only the standard library and PyGithub are imported, as in a hand-written workflow.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path


def build(files: list[Path]) -> None:
    lines = []
    for path in files:
        with path.open("rb") as stream:
            lines.append(f"{hashlib.file_digest(stream, 'sha256').hexdigest()}  {path.name}")
    print("\n".join(lines))


def release(files: list[Path], api: str, repository: str, tag: str) -> None:
    import github  # noqa: PLC0415 - only this job uses PyGithub

    client = github.Github(base_url=api, auth=github.Auth.Token(os.environ["GITHUB_TOKEN"]))
    draft = client.get_repo(repository).create_git_release(tag, tag, "release", draft=True)
    for path in files:
        draft.upload_asset(str(path), name=path.name)


def publish(files: list[Path], indexes: list[str]) -> None:
    for url in indexes:
        subprocess.run([sys.executable, "-m", "twine", "upload", "--non-interactive",
                        "--disable-progress-bar", "--repository-url", url,
                        *[str(p) for p in files]], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", choices=("build", "release", "publish"))
    parser.add_argument("dist", type=Path)
    parser.add_argument("--api", required=True)
    parser.add_argument("--repository", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--index", action="append", default=[])
    args = parser.parse_args()
    files = sorted(args.dist.iterdir())
    if args.job == "build":
        build(files)
    elif args.job == "release":
        release(files, args.api, args.repository, args.tag)
    else:
        publish(files, args.index)


if __name__ == "__main__":
    main()
