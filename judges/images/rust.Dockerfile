# Podium judge image for Rust: the official Rust image plus runguard.
#
#   docker build -f judges/images/rust.Dockerfile -t podium-judge-rust .
#
# Build from the repository root (runguard is compiled from judges/sandbox/runguard.c); see
# judges/images/README.md. The image's rustc is a rustup proxy that needs RUSTUP_HOME, and the
# sandbox gives programs none of the image's environment: the toolchain's own rustc is linked
# into /usr/local/bin instead (it finds its sysroot from its real path). The image has gcc (cc,
# rustc's linker) and libc6-dev.
ARG BUILDER_IMAGE=gcc:14
ARG RUST_IMAGE=rust:1-slim-bookworm

FROM ${BUILDER_IMAGE} AS runguard
COPY judges/sandbox/runguard.c /src/runguard.c
# The flags of judges/sandbox/runguard.py, static: the binary runs on any base image.
RUN gcc -O2 -std=gnu11 -Wall -static -o /runguard /src/runguard.c -lm \
 && /runguard --cpu 1 --wall 5 -- /bin/true | grep -q '"exit_code": 0'

FROM ${RUST_IMAGE}
COPY --from=runguard /runguard /opt/podium/runguard
RUN mkdir -p /usr/local/bin \
 && ln -sf "$(rustc --print sysroot)/bin/rustc" /usr/local/bin/rustc \
 && mkdir -p /tmp && chmod 1777 /tmp && cd /tmp \
 && printf 'use std::io::*;\nfn main(){let mut s=String::new();stdin().read_line(&mut s).unwrap();print!("{}",s);}\n' > t.rs \
 && env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp sh -c \
      'rustc --edition 2021 -O -o t t.rs && echo ok | ./t | grep -qx ok && rustc --version' \
 && rm -f t t.rs
LABEL org.podium.judge-image="rust"
