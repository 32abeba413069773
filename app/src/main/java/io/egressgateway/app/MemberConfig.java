package io.egressgateway.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValueFactory;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The member's whole configuration: {@code extra} over application.conf over every module's reference.conf,
 * with application.conf's {@code ${?EGRESS_...}} substitutions (the documented environment variables)
 * resolved against the given environment, and the two settings HOCON cannot derive by itself applied.
 */
public final class MemberConfig {

  /** Variables whose empty value means an empty list, where an unset one keeps a non-empty default. */
  private static final Set<String> EMPTY_MEANS_NONE = Set.of("EGRESS_POD_EXCEPTION_CIDRS");

  private MemberConfig() {}

  /** {@code env} is the process's environment for {@code egress run}, empty for {@code egress local}. */
  public static Config load(Map<String, String> env, Config extra) {
    ConfigFactory.invalidateCaches();
    Config unresolved = ConfigFactory.defaultOverrides()
        .withFallback(extra)
        .withFallback(ConfigFactory.defaultApplication())
        .withFallback(ConfigFactory.defaultReferenceUnresolved());
    // ${?VAR} looks in the config's root before the process's environment: the variables go there, at the
    // lowest priority, for the resolution only (never the process's own environment: egress local ignores it)
    Config environment = environment(env, unresolved.root().keySet());
    Config resolved = unresolved.withFallback(environment)
        .resolve(ConfigResolveOptions.defaults().setUseSystemEnvironment(false));
    for (String variable : environment.root().keySet()) {
      resolved = resolved.withoutPath(ConfigUtil.joinPath(variable));
    }
    return derived(resolved);
  }

  /**
   * The environment as a substitution source: values trimmed, blank ones left out (a variable set to ""
   * changes nothing, as the chart may render an unused value empty) except where empty means none.
   */
  private static Config environment(Map<String, String> env, Set<String> rootKeys) {
    Map<String, String> values = new LinkedHashMap<>();
    env.forEach((name, value) -> {
      if (!rootKeys.contains(name) && (!value.isBlank() || EMPTY_MEANS_NONE.contains(name))) {
        values.put(name, value.trim());
      }
    });
    return ConfigValueFactory.fromMap(values, "environment variables").toConfig();
  }

  /**
   * The warning a member logs at start when its remoting is plaintext outside this machine (Kubernetes
   * discovery, or a remoting address that is not loopback): anyone who reaches the port can join the cluster
   * and command every member. Empty for TLS, and for a local run on loopback.
   */
  public static java.util.Optional<String> insecureRemotingWarning(Config c) {
    if (Boolean.parseBoolean(c.getString("egress.app.remote-tls.enabled").trim())) {
      return java.util.Optional.empty();
    }
    String host = c.getString("akka.remote.artery.canonical.hostname").trim();
    boolean loopback = host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
    if (!c.getString("egress.discovery").trim().equalsIgnoreCase("kubernetes") && loopback) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of("INSECURE: cluster remoting TLS is OFF (cluster.tls.enabled=false, cluster.tls.insecure=true):"
        + " messages between members travel in plaintext and no member proves who it is; anyone who reaches port "
        + c.getString("akka.remote.artery.canonical.port") + " on " + host + " can join the cluster and command every"
        + " member. Use this for test clusters only.");
  }

  /** What follows from other keys: listening on every interface for bootstrap, and remoting's TLS. */
  private static Config derived(Config c) {
    Map<String, Object> values = new LinkedHashMap<>();
    if (c.getString("egress.discovery").trim().equalsIgnoreCase("kubernetes")) {
      // bootstrap contacts the other members' management endpoints at the address discovery finds (the pod
      // address, which the chart gives as the management host) and so do the kubelet's probes: listen there
      // only, never on every interface (in the host network that would be every address of the node)
      String management = c.getString("akka.management.http.hostname").trim();
      values.put("akka.management.http.bind-hostname", management.isEmpty() ? "0.0.0.0" : management);
      values.put("akka.remote.artery.bind.hostname", "0.0.0.0");
    }
    if (Boolean.parseBoolean(c.getString("egress.app.remote-tls.enabled").trim())) {
      String dir = c.getString("egress.app.remote-tls.dir");
      values.put("akka.remote.artery.transport", "tls-tcp");
      values.put("akka.remote.artery.ssl.ssl-engine-provider", "akka.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider");
      values.put("akka.remote.artery.ssl.rotating-keys-engine.key-file", dir + "/tls.key");
      values.put("akka.remote.artery.ssl.rotating-keys-engine.cert-file", dir + "/tls.crt");
      values.put("akka.remote.artery.ssl.rotating-keys-engine.ca-cert-file", dir + "/ca.crt");
      // the role's certificate also signs what the member sends (docs/design.md section 15)
      values.put("egress.security.key-file", dir + "/tls.key");
      values.put("egress.security.cert-file", dir + "/tls.crt");
      values.put("egress.security.ca-file", dir + "/ca.crt");
      values.put("egress.security.enforce", !c.getString("egress.app.remote-tls.enforce-roles").trim().equalsIgnoreCase("false"));
    }
    return values.isEmpty() ? c : ConfigFactory.parseMap(values, "derived from egress.discovery and egress.app.remote-tls")
        .withFallback(c).resolve();
  }
}
