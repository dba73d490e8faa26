# Podium judge image for Java: the official Eclipse Temurin JDK plus runguard.
#
#   docker build -f judges/images/java.Dockerfile -t podium-judge-java .
#
# Build from the repository root (runguard is compiled from judges/sandbox/runguard.c); see
# judges/images/README.md. The sandbox gives programs PATH=/usr/local/bin:/usr/bin:/bin and
# none of the image's environment, so java and javac are linked into /usr/local/bin.
ARG BUILDER_IMAGE=gcc:14
ARG JDK_IMAGE=eclipse-temurin:21-jdk

FROM ${BUILDER_IMAGE} AS runguard
COPY judges/sandbox/runguard.c /src/runguard.c
# The flags of judges/sandbox/runguard.py, static: the binary runs on any base image.
RUN gcc -O2 -std=gnu11 -Wall -static -o /runguard /src/runguard.c -lm \
 && /runguard --cpu 1 --wall 5 -- /bin/true | grep -q '"exit_code": 0'

FROM ${JDK_IMAGE}
COPY --from=runguard /runguard /opt/podium/runguard
RUN if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ]; then \
      ln -sf "$JAVA_HOME/bin/java" "$JAVA_HOME/bin/javac" /usr/local/bin/; \
    fi \
 && mkdir -p /tmp && cd /tmp && printf 'public class T{public static void main(String[] a){System.out.println("ok");}}\n' > T.java \
 && env -i PATH=/usr/local/bin:/usr/bin:/bin sh -c \
      'javac -encoding UTF-8 -d . T.java && java -Xmx64m T && java -version' \
 && rm -f T.java T.class
LABEL org.podium.judge-image="java"
