# Podium judge image for C++: the official GCC image plus runguard.
#
#   docker build -f judges/images/cpp.Dockerfile -t podium-judge-cpp .
#
# Build from the repository root (runguard is compiled from judges/sandbox/runguard.c); see
# judges/images/README.md. Submissions are linked with -static: the image has libstdc++.a.
ARG BUILDER_IMAGE=gcc:14
ARG GCC_IMAGE=gcc:14

FROM ${BUILDER_IMAGE} AS runguard
COPY judges/sandbox/runguard.c /src/runguard.c
# The flags of judges/sandbox/runguard.py, static: the binary runs on any base image.
RUN gcc -O2 -std=gnu11 -Wall -static -o /runguard /src/runguard.c -lm \
 && /runguard --cpu 1 --wall 5 -- /bin/true | grep -q '"exit_code": 0'

FROM ${GCC_IMAGE}
COPY --from=runguard /runguard /opt/podium/runguard
RUN mkdir -p /tmp && cd /tmp && printf '#include <iostream>\nint main(){std::cout<<"ok"<<std::endl;}\n' > t.cpp \
 && env -i PATH=/usr/local/bin:/usr/bin:/bin sh -c \
      'g++ -std=gnu++20 -O2 -pipe -static -o t t.cpp && ./t && g++ --version' \
 && rm -f t t.cpp
LABEL org.podium.judge-image="cpp"
