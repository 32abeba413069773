package io.egressgateway.cni;

import io.egressgateway.cni.wire.CniWire;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Where the plugin meets the node agent: the socket's default path and the directory of DELs kept for the
 * agent's next start. What travels on the socket is a {@link CniWire} frame ({@link CniWire.Request} out,
 * {@link CniWire.Answer} back, one of each per connection); a kept DEL is the request frame it would have sent.
 */
public final class AgentProtocol {
  public static final String DEFAULT_SOCKET = "/var/run/kube-egress-gateway/cni.sock";
  /** Where kept DELs wait, next to the socket ({@link CniWire#DEFERRED_DIR}); the agent's {@code CniServer} reads it. */
  public static final String DEFERRED_DIR = CniWire.DEFERRED_DIR;
  /** The name ending of a kept DEL ({@link CniWire#DEFERRED_SUFFIX}). */
  public static final String DEFERRED_SUFFIX = CniWire.DEFERRED_SUFFIX;

  private AgentProtocol() {}

  /**
   * Keeps a DEL {@code request} that could not reach the agent for the agent's next start: written whole
   * under a temporary name, readable by root only, then renamed into {@value #DEFERRED_DIR} next to
   * {@code socket}. Returns the file.
   */
  public static Path defer(Path socket, String containerId, byte[] request) throws IOException {
    Path dir = socket.toAbsolutePath().getParent().resolve(DEFERRED_DIR);
    Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    String name = containerId.replaceAll("[^A-Za-z0-9_.-]", "_") + "-" + System.currentTimeMillis() + "-"
        + ProcessHandle.current().pid() + DEFERRED_SUFFIX;
    Path tmp = dir.resolve("." + name + ".tmp");
    Files.write(tmp, request, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
    return Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE);
  }
}
