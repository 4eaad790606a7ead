#
# videogen image: one Python package, two roles.
#   docker build -t videogen:latest .
#   docker run --rm -p 8000:8000 -e KAFKA_BOOTSTRAP_SERVERS=... videogen:latest              # API
#   docker run --rm -e KAFKA_BOOTSTRAP_SERVERS=... videogen:latest videogen worker           # worker
# Settings come from environment variables only (see schemas/settings.py, deploy/README.md).
# FFmpeg is the static binary inside the imageio-ffmpeg wheel and PyAV bundles its own libs,
# so the runtime stage needs no apt ffmpeg.

ARG PYTHON_VERSION=3.11

# ---------------------------------------------------------------- build stage
FROM python:${PYTHON_VERSION}-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# A compiler only for the rare dependency without a wheel for this platform; it stays in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN pip install --upgrade pip wheel

WORKDIR /src
# Dependencies first (cached while only the source changes): install the package's
# requirements from pyproject.toml alone, then the package itself.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

COPY . .
RUN pip install --no-deps . ./clients/python \
 && test -x /opt/venv/bin/videogen

# -------------------------------------------------------------- runtime stage
FROM python:${PYTHON_VERSION}-slim AS runtime

# tini as PID 1: forwards SIGTERM to videogen (graceful drain of in-flight renders) and
# reaps FFmpeg children.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 videogen \
 && useradd --system --uid 10001 --gid videogen --home-dir /var/lib/videogen --no-create-home \
      --shell /usr/sbin/nologin videogen \
 && mkdir -p /var/lib/videogen/work \
 && chown -R videogen:videogen /var/lib/videogen

COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/var/lib/videogen \
    HOST=0.0.0.0 \
    PORT=8000 \
    WORKER_WEB_HOST=0.0.0.0 \
    WORKER_WEB_PORT=6066 \
    DATA_DIR=/var/lib/videogen \
    WORK_DIR=/var/lib/videogen/work

WORKDIR /var/lib/videogen
# Numeric, so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001

EXPOSE 8000 6066

# The API's /health; a worker container overrides this to check port 6066 (see docker-compose.yml).
# Python instead of curl: nothing extra in the image. urlopen raises on a non-2xx answer.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os,urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4)"]

ENTRYPOINT ["tini", "--"]
CMD ["videogen", "api"]
