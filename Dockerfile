# The kube-egress-gateway image: one image for every member (controller, gateway, worker) and for the CNI
# plugin the worker installs onto its node.
#
#   /opt/egress/bin/egress run      starts one member (roles and everything else from EGRESS_* variables)
#   /opt/egress/lib/                the application and its dependencies
#   /opt/egress/cni/                kube-egress-cni.jar, kube-egress-cni (launcher) and jre/ (java.base only),
#                                   copied onto the host by the worker's init container
#
# Nothing is compiled here: the Java build runs on the host and this file copies its output onto BASE_IMAGE,
# which must already hold a Java 17 runtime and the tools listed in docker/base-packages (a check below
# stops the build when one is missing).
#
# In this repository `./egress image` does everything: it builds the distribution, makes the base from
# Debian's archive (mmdebstrap, then `podman import`), builds this file with podman and writes an OCI
# archive to target/image/. See docs/install.md.
#
# With Docker, from the repository root:
#   mvn -B -DskipTests -pl app,cni-plugin -am package      # app/target/dist/lib, cni-plugin/target/cni
#   sudo mmdebstrap --variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
#     --include="$(grep -v '^#' docker/base-packages | paste -sd, -)" \
#     bookworm - | docker import - kube-egress-gateway-base:bookworm
#   docker build -f Dockerfile --build-arg BASE_IMAGE=kube-egress-gateway-base:bookworm \
#     -t <registry>/kube-egress-gateway:<tag> .
#   docker push <registry>/kube-egress-gateway:<tag>
# Any other base with the same commands does too (for example debian:bookworm-slim plus those packages).
# cni-plugin/target/cni/jre is a jlink image of the JDK that ran Maven, and it runs on the nodes themselves:
# made with Debian's OpenJDK 17 it needs glibc 2.34 (Ubuntu 22.04, Azure Linux 2); run Maven on Temurin's
# JDK 17 for a runtime that needs only glibc 2.17.
#
# An OCI archive (what `./egress image` writes) is pushed without any container engine:
#   skopeo copy oci-archive:target/image/kube-egress-gateway-<tag>.oci.tar \
#     docker://<registry>/kube-egress-gateway:<tag>

ARG BASE_IMAGE
FROM ${BASE_IMAGE}

# The members run java, ip, nft, iptables(-legacy/-nft), wg, wireguard-go, sysctl and mount (Essential); the chart's scripts
# (charts/kube-egress-gateway/files) run sh, jq, curl, sha256sum, cmp, mktemp, socat, setsid, flock and readlink.
RUN missing=; \
    for c in java ip nft iptables iptables-legacy iptables-nft wg wireguard-go socat setsid flock readlink sysctl mount unshare jq curl sha256sum cmp mktemp; do \
      command -v "$c" >/dev/null 2>&1 || missing="$missing $c"; \
    done; \
    [ -z "$missing" ] || { echo "BASE_IMAGE lacks:$missing (see docker/base-packages)" >&2; exit 1; }

ENV EGRESS_HOME=/opt/egress \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

COPY app/target/dist/lib/ /opt/egress/lib/
COPY cni-plugin/target/cni/ /opt/egress/cni/
COPY docker/kube-egress-cni /opt/egress/cni/kube-egress-cni
COPY docker/egress /opt/egress/bin/egress

# Non-root by default; the chart runs the gateway and worker members as root with the capabilities they need.
USER 65532:65532
ENTRYPOINT ["/opt/egress/bin/egress"]
CMD ["run"]
