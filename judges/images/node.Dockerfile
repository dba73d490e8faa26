# Podium judge image for JavaScript: the official Node.js image plus runguard.
#
#   docker build -f judges/images/node.Dockerfile -t podium-judge-node .
#
# Build from the repository root (runguard is compiled from judges/sandbox/runguard.c); see
# judges/images/README.md. node is in /usr/local/bin, on the sandbox's PATH. V8 reserves far
# more address space than it touches, so the judge runs it without RLIMIT_AS (runguard
# --mem 0) and caps its heap with --max-old-space-size: the check below runs it that way.
ARG BUILDER_IMAGE=gcc:14
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${BUILDER_IMAGE} AS runguard
COPY judges/sandbox/runguard.c /src/runguard.c
# The flags of judges/sandbox/runguard.py, static: the binary runs on any base image.
RUN gcc -O2 -std=gnu11 -Wall -static -o /runguard /src/runguard.c -lm \
 && /runguard --cpu 1 --wall 5 -- /bin/true | grep -q '"exit_code": 0'

FROM ${NODE_IMAGE}
COPY --from=runguard /runguard /opt/podium/runguard
RUN mkdir -p /tmp && chmod 1777 /tmp && cd /tmp \
 && printf "require('readline').createInterface({ input: process.stdin }).on('line', (l) => console.log(l));\n" > t.js \
 && env -i PATH=/usr/local/bin:/usr/bin:/bin sh -c \
      'echo ok > in.txt \
       && node --check t.js \
       && /opt/podium/runguard --cpu 5 --wall 20 --mem 0 --rss 268435456 --stdin in.txt \
            --stdout out.txt -- node --max-old-space-size=256 --stack-size=65500 t.js \
          | grep -q "\"exit_code\": 0" \
       && grep -qx ok out.txt && node --version' \
 && rm -f t.js in.txt out.txt
LABEL org.podium.judge-image="node"
