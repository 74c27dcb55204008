# recnet: a multi-stage image; configured entirely by RECNET_* environment variables.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/recnet
WORKDIR /src
# The exact versions of requirements.lock (`make lock`), in a layer of their own that a change
# to recnet's code does not rebuild; then recnet itself, and pip check that nothing is missing.
COPY requirements.lock ./
RUN /opt/recnet/bin/pip install --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY src ./src
COPY migrations ./migrations
RUN /opt/recnet/bin/pip install --no-deps . && /opt/recnet/bin/pip check

FROM python:3.11-slim
ENV PATH=/opt/recnet/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RECNET_ENV=prod \
    RECNET_HOST=0.0.0.0 \
    RECNET_PORT=8000
RUN useradd --system --uid 10001 --home-dir /var/lib/recnet --create-home recnet
COPY --from=build /opt/recnet /opt/recnet
USER recnet
WORKDIR /var/lib/recnet
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('RECNET_PORT', '8000')}/v1/ready\", timeout=2).status != 200)"]
# Behind a reverse proxy, name it, or X-Forwarded-For is ignored (README, "Security"):
#   RECNET_TRUSTED_PROXIES=10.0.0.5 (or a network)   RECNET_PUBLIC_URL=https://recnet.example.org
# One container alone: migrations first (as the connecting owner role), then the server; a failed
# migration stops the start. On PostgreSQL this serves no webhooks: run `recnet worker` from the
# same image beside it (deploy/compose.yaml runs the migration, the API and the worker apart).
CMD ["sh", "-c", "recnet migrate && exec recnet serve --no-migrate"]
