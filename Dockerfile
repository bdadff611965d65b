# Paved Road API image.
#
#   docker build -t pavedroad .
#   docker run --rm -e DATABASE_URL=postgresql://user:pass@db:5432/paved pavedroad migrate
#   docker run --rm -p 8000:8000 -e DATABASE_URL=postgresql://user:pass@db:5432/paved pavedroad
#
# `serve` (the default command) listens on 0.0.0.0:8000; every setting comes from the
# environment (`DATABASE_URL`, `PAVED_*`, see api/settings.py).

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: the project's wheel and its dependencies, installed into /opt/venv ---
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
WORKDIR /src

# Dependencies first, listed from pyproject.toml, so that this layer is reused while
# only the code changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && /opt/venv/bin/pip install --requirement /tmp/requirements.txt

COPY README.md ./
COPY api ./api
COPY cli ./cli
COPY demo ./demo
COPY domain ./domain
COPY reads ./reads
COPY schema ./schema
COPY resolvers ./resolvers
COPY providers ./providers
COPY portal ./portal
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-deps /wheels/pavedroad-*.whl \
    && /opt/venv/bin/paved --help > /dev/null

# --- runtime: the venv alone, run by an unprivileged user ---
FROM ${PYTHON_IMAGE} AS runtime

RUN groupadd --system --gid 10001 paved \
    && useradd --system --uid 10001 --gid paved --home-dir /var/lib/paved --create-home \
        --shell /usr/sbin/nologin paved

# Same base image and path as the builder, so the venv's interpreter links still hold.
COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PAVED_HOST=0.0.0.0 \
    PAVED_PORT=8000 \
    PAVED_DATA_DIR=/var/lib/paved/data

USER 10001:10001
WORKDIR /var/lib/paved
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PAVED_PORT', '8000'), timeout=4)"]

ENTRYPOINT ["paved"]
CMD ["serve"]
