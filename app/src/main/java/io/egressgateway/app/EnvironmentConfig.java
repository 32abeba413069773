package io.egressgateway.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Maps the documented {@code EGRESS_*} environment variables (what the Helm chart sets) onto config keys.
 * Only variables that are set and non-empty override anything; everything else keeps the file defaults.
 */
public final class EnvironmentConfig {

  /** Variable name to config path, for plain string or number values. */
  private static final Map<String, String> SCALARS = new LinkedHashMap<>();

  static {
    SCALARS.put("NODE_NAME", "egress.node-name");
    SCALARS.put("EGRESS_NODE_NAME", "egress.node-name");
    SCALARS.put("EGRESS_DISCOVERY", "egress.discovery");
    SCALARS.put("EGRESS_REMOTE_HOST", "akka.remote.artery.canonical.hostname");
    SCALARS.put("EGRESS_REMOTE_PORT", "akka.remote.artery.canonical.port");
    SCALARS.put("EGRESS_MANAGEMENT_HOST", "akka.management.http.hostname");
    SCALARS.put("EGRESS_MANAGEMENT_PORT", "akka.management.http.port");
    SCALARS.put("EGRESS_K8S_SERVICE_NAME", "egress.kubernetes.service-name");
    SCALARS.put("EGRESS_K8S_POD_LABEL_SELECTOR", "egress.kubernetes.pod-label-selector");
    SCALARS.put("EGRESS_K8S_REQUIRED_CONTACT_POINTS", "egress.kubernetes.required-contact-points");
    SCALARS.put("EGRESS_NAMESPACE", "egress.kube-bridge.namespace");
    SCALARS.put("EGRESS_KUBERNETES_API", "egress.app.kubernetes-api");
    SCALARS.put("EGRESS_POD_FIELD_SELECTOR", "egress.app.pod-field-selector");
    SCALARS.put("EGRESS_JOURNAL_MODE", "egress.journal.mode");
    SCALARS.put("EGRESS_DB_URL", "egress.journal.url");
    SCALARS.put("EGRESS_DB_HOST", "egress.journal.host");
    SCALARS.put("EGRESS_DB_PORT", "egress.journal.port");
    SCALARS.put("EGRESS_DB_NAME", "egress.journal.database");
    SCALARS.put("EGRESS_DB_USER", "egress.journal.user");
    SCALARS.put("EGRESS_DB_PASSWORD", "egress.journal.password");
    SCALARS.put("EGRESS_DB_SSLMODE", "egress.journal.ssl-mode");
    SCALARS.put("EGRESS_JOURNAL_DATA_DIR", "egress.journal.embedded.data-dir");
    SCALARS.put("EGRESS_AZURE_CONFIG", "egress.app.azure.cloud-config-file");
    // cloud-provider-azure's variable for the endpoints of a custom cloud (cloud: AzureStackCloud)
    SCALARS.put("AZURE_ENVIRONMENT_FILEPATH", "egress.app.azure.environment-file");
    SCALARS.put("EGRESS_AZURE_CA_BUNDLE", "egress.app.azure.ca-bundle-file");
    SCALARS.put("EGRESS_AZURE_CLIENT_CERT", "egress.azure.client-certificate-file");
    SCALARS.put("EGRESS_CNI_SOCKET", "egress.pod.socket-path");
    SCALARS.put("EGRESS_PROBE_PORT", "egress.gateway.probe.port");
    SCALARS.put("EGRESS_GATEWAY_NETNS_PREFIX", "egress.gateway.netns-prefix");
  }

  /** Variable name to config path, for comma-separated lists. */
  private static final Map<String, String> LISTS = Map.of(
      "EGRESS_ROLES", "egress.roles",
      "EGRESS_SEED_NODES", "egress.seed-nodes");

  /**
   * Comma-separated lists whose empty value means an empty list (the default is not empty, and "none" must
   * be expressible): such a variable overrides as soon as it is set.
   */
  private static final Map<String, String> LISTS_EMPTY_MEANS_NONE = Map.of(
      "EGRESS_POD_EXCEPTION_CIDRS", "egress.pod.exception-cidrs");

  private EnvironmentConfig() {}

  /** The overrides {@code env} implies, without any fallback. */
  public static Config overrides(Map<String, String> env) {
    Map<String, Object> values = new LinkedHashMap<>();
    SCALARS.forEach((var, path) -> {
      String v = env.get(var);
      if (v != null && !v.isBlank()) {
        values.put(path, v.trim());
      }
    });
    LISTS.forEach((var, path) -> {
      String v = env.get(var);
      if (v != null && !v.isBlank()) {
        values.put(path, items(v));
      }
    });
    LISTS_EMPTY_MEANS_NONE.forEach((var, path) -> {
      String v = env.get(var);
      if (v != null) {
        values.put(path, items(v));
      }
    });
    if (env.getOrDefault("EGRESS_DISCOVERY", "").trim().equalsIgnoreCase("kubernetes")) {
      // bootstrap contacts the other members' management endpoints: listen on every interface
      values.put("akka.management.http.bind-hostname", "0.0.0.0");
      values.put("akka.remote.artery.bind.hostname", "0.0.0.0");
    }
    if (Boolean.parseBoolean(env.getOrDefault("EGRESS_REMOTE_TLS", "false").trim())) {
      String dir = env.getOrDefault("EGRESS_REMOTE_TLS_DIR", "/etc/egress/remote-tls");
      values.put("akka.remote.artery.transport", "tls-tcp");
      values.put("akka.remote.artery.ssl.ssl-engine-provider", "akka.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider");
      values.put("akka.remote.artery.ssl.rotating-keys-engine.key-file", dir + "/tls.key");
      values.put("akka.remote.artery.ssl.rotating-keys-engine.cert-file", dir + "/tls.crt");
      values.put("akka.remote.artery.ssl.rotating-keys-engine.ca-cert-file", dir + "/ca.crt");
      // the role's certificate also signs what the member sends (docs/design.md section 13)
      values.put("egress.security.key-file", dir + "/tls.key");
      values.put("egress.security.cert-file", dir + "/tls.crt");
      values.put("egress.security.ca-file", dir + "/ca.crt");
      values.put("egress.security.enforce",
          Boolean.parseBoolean(env.getOrDefault("EGRESS_SECURITY_ENFORCE", "true").trim()));
    }
    return ConfigFactory.parseMap(values, "environment variables");
  }

  private static List<String> items(String commaList) {
    return Arrays.stream(commaList.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }

  /** The member's whole configuration: environment over application.conf over reference.conf. */
  public static Config load(Map<String, String> env, Config extra) {
    ConfigFactory.invalidateCaches();
    return ConfigFactory.load(extra.withFallback(overrides(env)).withFallback(ConfigFactory.defaultApplication()));
  }
}
