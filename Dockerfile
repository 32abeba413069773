# syntax=docker/dockerfile:1
#
# The kube-egress-gateway image: one image for every member (controller, gateway, worker) and for the CNI
# plugin the worker installs onto its node.
#
#   /opt/egress/bin/egress run      starts one member (roles and everything else from EGRESS_* variables)
#   /opt/egress/lib/                the application and its dependencies
#   /opt/egress/cni/                kube-egress-cni.jar, kube-egress-cni (launcher) and jre/ (java.base only),
#                                   copied onto the host by the worker's init container
#
# Nothing in this repository builds or publishes this image (there is no container engine in its CI).
# Build and push it yourself, then point the chart at it:
#   docker build -t <registry>/kube-egress-gateway:<tag> .
#   docker push <registry>/kube-egress-gateway:<tag>
#   helm install ... --set image.repository=<registry>/kube-egress-gateway --set image.tag=<tag>

ARG BUILD_IMAGE=maven:3.9-eclipse-temurin-17
ARG JRE_IMAGE=eclipse-temurin:17-jre
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.m2 \
    mvn -B -q -DskipTests -pl app,cni-plugin -am package
# The plugin's runtime is a jlink image of Temurin's portable binaries (glibc 2.17 or later), so it runs on
# the node itself (Ubuntu, Azure Linux) and not only inside this image.
RUN jlink --add-modules java.base --strip-debug --no-man-pages --no-header-files --compress=2 \
      --output /out/cni/jre \
 && cp cni-plugin/target/cni-plugin-*.jar /out/cni/kube-egress-cni.jar \
 && mkdir -p /out/egress \
 && cp -r app/target/dist/lib /out/egress/lib

FROM ${JRE_IMAGE} AS jre

FROM ${BASE_IMAGE}
# The datapath tools the members run: ip, nft, iptables (legacy and nft flavours), wg, wireguard-go;
# jq and curl for the worker's host-side scripts (CNI install and removal, node taint).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates curl jq iproute2 iptables nftables wireguard-tools wireguard-go procps \
 && rm -rf /var/lib/apt/lists/*
COPY --from=jre /opt/java/openjdk /opt/java/openjdk
ENV JAVA_HOME=/opt/java/openjdk \
    PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    EGRESS_HOME=/opt/egress
COPY --from=build /out/egress /opt/egress
COPY --from=build /out/cni /opt/egress/cni
COPY --chmod=0755 docker/egress /opt/egress/bin/egress
COPY --chmod=0755 docker/kube-egress-cni /opt/egress/cni/kube-egress-cni
# Non-root by default; the chart runs the gateway and worker members as root with the capabilities they need.
USER 65532:65532
ENTRYPOINT ["/opt/egress/bin/egress"]
CMD ["run"]
