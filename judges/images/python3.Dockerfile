# Podium judge image for Python 3: the official Python image plus runguard.
#
#   docker build -f judges/images/python3.Dockerfile -t podium-judge-python3 .
#
# Build from the repository root (runguard is compiled from judges/sandbox/runguard.c); see
# judges/images/README.md. The Docker sandbox runs every box of this image read-only, without
# network or capabilities, as an unprivileged uid, with PATH=/usr/local/bin:/usr/bin:/bin.
ARG BUILDER_IMAGE=gcc:14
ARG PYTHON_IMAGE=python:3.12-slim

FROM ${BUILDER_IMAGE} AS runguard
COPY judges/sandbox/runguard.c /src/runguard.c
# The flags of judges/sandbox/runguard.py, static: the binary runs on any base image.
RUN gcc -O2 -std=gnu11 -Wall -static -o /runguard /src/runguard.c -lm \
 && /runguard --cpu 1 --wall 5 -- /bin/true | grep -q '"exit_code": 0'

FROM ${PYTHON_IMAGE}
COPY --from=runguard /runguard /opt/podium/runguard
RUN env -i PATH=/usr/local/bin:/usr/bin:/bin sh -c \
      '/opt/podium/runguard --cpu 5 --wall 20 -- python3 -c "print(6 * 7)" >/dev/null \
       && python3 --version'
LABEL org.podium.judge-image="python3"
