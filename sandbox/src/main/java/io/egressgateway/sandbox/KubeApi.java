package io.egressgateway.sandbox;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sandbox's Kubernetes API: fabric8's mock API server in CRUD mode, in this process, with the
 * project's CRDs installed and a kubeconfig written for kubectl and for the members.
 */
public final class KubeApi implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KubeApi.class);
  private final KubernetesMockServer server;
  private final KubernetesClient client;
  private final String url;
  private final DiscoveryDispatcher dispatcher;

  private KubeApi(KubernetesMockServer server, DiscoveryDispatcher dispatcher, String url) {
    this.server = server;
    this.dispatcher = dispatcher;
    // the mock can stall for up to a minute after a watch closes (see close()): wait that out rather than
    // fail a check with a 10 s request timeout
    this.client = server.createClient(b -> b.editOrNewConfig().withRequestTimeout(90_000).endConfig());
    this.url = url;
  }

  /** Starts the API on {@code bindIp}:{@code port} (0 picks one). */
  public static KubeApi start(String bindIp, int port) {
    DiscoveryDispatcher dispatcher = new DiscoveryDispatcher();
    KubernetesMockServer server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
        dispatcher, false);
    try {
      server.init(InetAddress.getByName(bindIp), port);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the Kubernetes API on " + bindIp + ":" + port, e);
    }
    return new KubeApi(server, dispatcher, "http://" + bindIp + ":" + server.getPort());
  }

  public KubernetesClient client() {
    return client;
  }

  public String url() {
    return url;
  }

  /** A fault hook ({@link Faults}): while on, the members' watch requests get HTTP 500. */
  void failMemberWatches(boolean on) {
    dispatcher.failMemberWatches(on);
  }

  /** Members' watch requests answered with 500 so far. */
  long failedWatches() {
    return dispatcher.failedWatches();
  }

  /** Creates every CRD found as YAML in {@code dir}; returns their names. */
  public List<String> installCrds(Path dir) {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml"))
          .sorted()
          .map(this::installCrd)
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read CRDs from " + dir, e);
    }
  }

  private String installCrd(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      CustomResourceDefinition crd = client.getKubernetesSerialization().unmarshal(in, CustomResourceDefinition.class);
      client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
      dispatcher.register(crd);
      return crd.getMetadata().getName();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read CRD " + file, e);
    }
  }

  /** Writes a kubeconfig for this API to {@code file} (mode 0600) and returns it. */
  public Path writeKubeconfig(Path file) {
    return writeKubeconfig(file, url);
  }

  /** Writes a kubeconfig (mode 0600) pointing at {@code server}, e.g. the API as relayed into a node. */
  public static Path writeKubeconfig(Path file, String server) {
    String yaml = """
        apiVersion: v1
        kind: Config
        clusters:
        - name: egress-sandbox
          cluster:
            server: %s
        users:
        - name: sandbox
          user:
            token: sandbox
        contexts:
        - name: egress-sandbox
          context:
            cluster: egress-sandbox
            user: sandbox
            namespace: default
        current-context: egress-sandbox
        """.formatted(server);
    try {
      Files.createDirectories(file.getParent());
      Files.writeString(file, yaml);
      file.toFile().setReadable(false, false);
      file.toFile().setReadable(true, true);
      file.toFile().setWritable(true, true);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Stops the client and the server. The mock server can fail to stop within its 10 s when a watch closed
   * while it was sending an event (its event loop and the watch's sender wait for each other for up to a
   * minute); that is logged, not thrown, so the rest of the teardown still runs.
   */
  @Override
  public void close() {
    client.close();
    try {
      server.destroy();
    } catch (IllegalStateException e) {
      LOG.warn("the Kubernetes API did not stop cleanly: {}", e.getMessage());
    }
  }
}
