# The release-action image: the `release-action` command in a venv, git, and the Docker CLI
# that cibuildwheel drives through the runner's socket (/var/run/docker.sock).
#
# Users' base: python:3.12-slim (Debian 13 "trixie"), pinned by digest. Tests build the same
# file on Debian's own Python with
#   --build-arg BASE_IMAGE=local/debian:bookworm
# (python3 is Debian's 3.11 there and comes from apt). Everything that differs between the two
# bases is in the two `if` steps below: python3 and python3-venv come from apt only when the
# base cannot make a venv, and the Docker CLI comes from Debian's `docker-cli` package where
# the base's release has it (trixie) or out of `docker.io` where it does not (bookworm).
#
# Rules the runner imposes (see docs/prebuilt-image.md): no USER (the runner mounts the
# workspace and file-command directories owned by its own user), no reliance on WORKDIR (the
# runner sets the working directory to /github/workspace), the venv on an absolute path (the
# runner overrides HOME and PATH), and an exec-form ENTRYPOINT that starts Python directly:
# a shell would drop the INPUT_GITHUB-TOKEN style variables (hyphens) the inputs arrive in.
#
# pip trusts the build machine's CA bundle through the BuildKit secret `cacert` when it is
# given (`--secret id=cacert,src=/etc/ssl/certs/ca-certificates.crt`); it is never stored.

# The digest is python:3.12-slim's multi-platform index as published; public Dockerfiles pin the
# same digest under both `python:3.12-slim` and `python:3.12-slim-trixie`. Bump it (and test)
# with `docker buildx imagetools inspect python:3.12-slim`.
ARG BASE_IMAGE=python:3.12-slim@sha256:57cd7c3a7a273101a6485ba99423ee568157882804b1124b4dd04266317710de

# -- build stage: the venv, made from hash-locked wheels; the project's own wheel ------------
FROM ${BASE_IMAGE} AS build
ARG PYTHON=python3
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_NO_INPUT=1

RUN if ! "$PYTHON" -m venv /tmp/venv-probe >/dev/null 2>&1; then \
        apt-get update \
        && apt-get install -y --no-install-recommends python3 python3-venv \
        && rm -rf /var/lib/apt/lists/*; \
    fi; \
    rm -rf /tmp/venv-probe

COPY requirements/lock.txt requirements/build-lock.txt /src/requirements/
# Dependencies first (a layer that changes only with the lock). Wheels only: no compiler is
# needed, and none is left behind.
RUN --mount=type=secret,id=cacert \
    set -eu; \
    cert=; if [ -s /run/secrets/cacert ]; then cert=/run/secrets/cacert; fi; \
    "$PYTHON" -m venv /opt/release-action/venv; \
    /opt/release-action/venv/bin/pip install -q ${cert:+--cert "$cert"} \
        --require-hashes --no-deps --only-binary :all: -r /src/requirements/lock.txt; \
    "$PYTHON" -m venv /tmp/build-venv; \
    /tmp/build-venv/bin/pip install -q ${cert:+--cert "$cert"} \
        --require-hashes --no-deps --only-binary :all: -r /src/requirements/build-lock.txt

COPY pyproject.toml README.md /src/
COPY statemachine /src/statemachine
COPY action /src/action
# The project's wheel from the locked backend (no build isolation: nothing unlocked is
# fetched), installed without dependencies (they are all in the lock), then pip leaves the
# runtime venv (the action never installs anything into it) and every module is compiled
# once here so that start-up does not.
RUN set -eu; \
    /tmp/build-venv/bin/pip wheel -q --no-deps --no-build-isolation --no-index \
        --wheel-dir /tmp/wheel /src; \
    /opt/release-action/venv/bin/pip install -q --no-deps --no-index /tmp/wheel/*.whl; \
    /opt/release-action/venv/bin/python -m pip uninstall -q -y pip; \
    /opt/release-action/venv/bin/python -m compileall -q -j 0 /opt/release-action/venv/lib; \
    /opt/release-action/venv/bin/release-action --help >/dev/null

# -- runtime stage: the base, git, the Docker CLI and the venv -------------------------------
FROM ${BASE_IMAGE}
ARG PYTHON=python3
ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1

# python3-venv (ensurepip) as in the build stage when the base cannot make a venv: the action
# builds the sdist with `python -m build`, whose isolated environment is a venv with pip.
# The Docker CLI: Debian's `docker-cli` package where the base's release has it (trixie, the
# users' base); where it does not (bookworm, the local test base) only /usr/bin/docker out of
# `docker.io` (the client is one binary needing libc; the rest of docker.io is the daemon with
# containerd, runc and iptables, ~300 MB the action never runs).
RUN set -eu; \
    packages="git ca-certificates"; \
    "$PYTHON" -m venv /tmp/venv-probe >/dev/null 2>&1 || packages="$packages python3 python3-venv"; \
    rm -rf /tmp/venv-probe; \
    apt-get update; \
    if apt-cache show docker-cli >/dev/null 2>&1; then \
        apt-get install -y --no-install-recommends $packages docker-cli; \
    else \
        apt-get install -y --no-install-recommends $packages; \
        cd /tmp; apt-get download docker.io; \
        dpkg-deb --fsys-tarfile docker.io_*.deb | tar -x -C / ./usr/bin/docker; \
        rm -f docker.io_*.deb; \
    fi; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log; \
    git --version; docker --version

COPY --from=build /opt/release-action/venv /opt/release-action/venv

# The checkout is owned by the runner's user, not root: let git read it (the action checks
# which commit is checked out).
RUN git config --system --add safe.directory '*'

LABEL org.opencontainers.image.title="release-action" \
      org.opencontainers.image.description="Take a tagged Python project to PyPI through a persisted, event-sourced release state machine." \
      org.opencontainers.image.licenses="MIT"

ENTRYPOINT ["/opt/release-action/venv/bin/release-action", "run"]
