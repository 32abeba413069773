package io.egressgateway.app.wiring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The gateway reads a private key only from a key Secret: a {@code sgw-<uid>} name (never another Secret
 * the view might name) that carries the controllers' owner labels (never a Secret someone else made).
 */
class SecretGatewayKeysTest {
  private static final String KEY = Base64.getEncoder().encodeToString(new byte[32]);
  private final List<String> requested = new CopyOnWriteArrayList<>();
  private HttpServer api;
  private KubernetesClient client;

  @BeforeEach
  void start() throws Exception {
    api = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    api.createContext("/api/v1/namespaces/egress/secrets/", ex -> {
      String name = ex.getRequestURI().getPath().substring("/api/v1/namespaces/egress/secrets/".length());
      requested.add(name);
      String labels = name.equals("sgw-ours") ? "\"egressgateway.kubernetes.azure.com/owning-gateway-config-name\":\"c\","
          + "\"egressgateway.kubernetes.azure.com/owning-gateway-config-namespace\":\"apps\"" : "\"team\":\"x\"";
      byte[] body = ("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"" + name + "\",\"namespace\":\"egress\","
          + "\"labels\":{" + labels + "}},\"data\":{\"PrivateKey\":\""
          + Base64.getEncoder().encodeToString(KEY.getBytes(StandardCharsets.UTF_8)) + "\"}}").getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", "application/json");
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    api.start();
    client = new KubernetesClientBuilder().withConfig(new ConfigBuilder()
        .withMasterUrl("http://127.0.0.1:" + api.getAddress().getPort()).withRequestRetryBackoffLimit(0).build()).build();
  }

  @AfterEach
  void stop() {
    client.close();
    api.stop(0);
  }

  @Test
  void onlyLabelledSecretsWithAKeySecretNameAreRead() {
    SecretGatewayKeys keys = new SecretGatewayKeys(client, "egress");
    assertEquals(KEY, keys.privateKey("sgw-ours"));

    IllegalStateException foreign = assertThrows(IllegalStateException.class, () -> keys.privateKey("sgw-theirs"));
    assertTrue(foreign.getMessage().contains("carries no owner labels"), foreign.getMessage());

    for (String name : List.of("egress-remote-tls-controller", "sgw-../x", "sgw-", "azure-cloud-config")) {
      assertThrows(IllegalArgumentException.class, () -> keys.privateKey(name), name);
    }
    assertEquals(List.of("sgw-ours", "sgw-theirs"), requested, "no other Secret was even asked for");
  }
}
