# Podium application image: the web server, `podium db upgrade` and the judge worker.
#
#   docker build -t podium .
#   docker run --rm podium --help
#
# The image runs as the unprivileged user `podium` (uid 10001). Its data dir,
# /var/lib/podium/data, is meant to be a volume (see docker-compose.yaml).

FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/podium
WORKDIR /src
COPY pyproject.toml README.md ./
COPY server ./server
COPY plugins ./plugins
COPY judges ./judges
COPY themes ./themes
COPY migrations ./migrations
RUN /opt/podium/bin/pip install . \
 && /opt/podium/bin/podium --help >/dev/null

FROM python:3.12-slim
# bubblewrap: the judge worker's sandbox when the container is allowed to create namespaces
# (the Docker sandbox needs the host's docker socket instead, see docker-compose.yaml).
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 podium \
 && useradd --system --uid 10001 --gid podium --home-dir /var/lib/podium --create-home podium \
 && install -d -o podium -g podium /var/lib/podium/data
COPY --from=build /opt/podium /opt/podium
ENV PATH=/opt/podium/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PODIUM_DATA_DIR=/var/lib/podium/data
USER podium
WORKDIR /var/lib/podium
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
# `podium` is the entrypoint; a leading "podium" argument is dropped, so both
# `docker run IMAGE user create admin` and `docker compose run web podium user create admin` work.
ENTRYPOINT ["/bin/sh", "-c", "if [ \"$1\" = podium ]; then shift; fi; exec podium \"$@\"", "podium"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
