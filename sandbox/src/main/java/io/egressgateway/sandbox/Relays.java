package io.egressgateway.sandbox;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Makes a service that listens on the sandbox's loopback (PostgreSQL, the Kubernetes API, the ARM
 * simulator) reachable on 127.0.0.1 inside node namespaces, without giving the root namespace any route:
 * unix sockets are not bound to a network namespace, so one socat listens on a unix socket next to the
 * service and one socat per node namespace listens on the node's loopback and connects to that socket.
 */
public final class Relays {
  private final NetLab lab;
  private final Path dir;

  public Relays(NetLab lab) {
    this.lab = lab;
    this.dir = lab.workDir().resolve("relay");
    try {
      Files.createDirectories(dir);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Exposes 127.0.0.1:{@code port} of this namespace as a unix socket named {@code service}. */
  public Path export(String service, int port) {
    Path sock = dir.resolve(service + ".sock");
    lab.spawn("relay-" + service, null, List.of("socat",
        "UNIX-LISTEN:" + sock + ",fork,mode=600", "TCP:127.0.0.1:" + port));
    awaitSocket(sock);
    return sock;
  }

  /** Listens on 127.0.0.1:{@code port} inside {@code ns} and forwards to the exported {@code service}. */
  public void importInto(String ns, String service, int port) {
    Path sock = dir.resolve(service + ".sock");
    lab.spawn("relay-" + service + "-" + ns, ns, List.of("socat",
        "TCP-LISTEN:" + port + ",bind=127.0.0.1,fork,reuseaddr", "UNIX-CONNECT:" + sock));
    long deadline = System.currentTimeMillis() + 5000;
    while (System.currentTimeMillis() < deadline) {
      if (Sh.quiet(ns, "sh", "-c", "ss -ltn | grep -q '127.0.0.1:" + port + " '").ok()) {
        return;
      }
      Sh.sleep(50);
    }
    throw new IllegalStateException("relay for " + service + " did not start in " + ns);
  }

  private static void awaitSocket(Path sock) {
    long deadline = System.currentTimeMillis() + 5000;
    while (!Files.exists(sock)) {
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException("relay socket " + sock + " did not appear");
      }
      Sh.sleep(50);
    }
  }
}
