package io.egressgateway.core.settings;

import com.typesafe.config.Config;
import io.egressgateway.core.Roles;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The member's identity, discovery and journal settings, read once from {@code egress.*} and validated.
 * Invalid settings fail the start with a message naming the key.
 */
public record CoreSettings(
    String nodeName,
    Set<String> roles,
    Discovery discovery,
    List<String> seedNodes,
    JournalSettings journal) {

  public enum Discovery { STATIC, KUBERNETES }

  public CoreSettings {
    if (nodeName == null || nodeName.isBlank() || nodeName.contains("/")) {
      throw new IllegalArgumentException("egress.node-name must be a Kubernetes node name, got '" + nodeName + "'");
    }
    roles = Set.copyOf(roles);
    if (roles.isEmpty()) {
      throw new IllegalArgumentException("egress.roles must name at least one of " + Roles.FUNCTIONAL);
    }
    for (String r : roles) {
      if (!Roles.FUNCTIONAL.contains(r)) {
        throw new IllegalArgumentException("egress.roles: unknown role '" + r + "', expected one of " + Roles.FUNCTIONAL);
      }
    }
    seedNodes = List.copyOf(seedNodes);
  }

  public static CoreSettings fromConfig(Config root) {
    Config c = root.getConfig("egress");
    String node = c.getString("node-name");
    if (node.isBlank()) {
      node = hostName();
    }
    Discovery discovery;
    try {
      discovery = Discovery.valueOf(c.getString("discovery").trim().toUpperCase());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("egress.discovery must be 'static' or 'kubernetes', got '" + c.getString("discovery") + "'");
    }
    return new CoreSettings(
        node,
        new LinkedHashSet<>(ConfigLists.strings(c, "roles")),
        discovery,
        ConfigLists.strings(c, "seed-nodes"),
        JournalSettings.fromConfig(c.getConfig("journal")));
  }

  /** The akka cluster roles this member announces: its functional roles plus {@code node:<name>}. */
  public List<String> clusterRoles() {
    List<String> all = new ArrayList<>(roles);
    all.add(Roles.nodeRole(nodeName));
    return all;
  }

  public boolean hasRole(String role) {
    return roles.contains(role);
  }

  private static String hostName() {
    String env = System.getenv("HOSTNAME");
    if (env != null && !env.isBlank()) {
      return env;
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }

  /**
   * Where the journal lives. {@code embedded} and {@code node-local} run the bundled PostgreSQL inside the
   * member ({@link io.egressgateway.core.journal.Journal}); {@code node-local} insists on a durable
   * {@code embeddedDataDir}, {@code embedded} uses a temporary directory unless one is given.
   */
  public record JournalSettings(
      Mode mode,
      String url,
      String host,
      int port,
      String database,
      String user,
      String password,
      String sslMode,
      String sslRootCert,
      int embeddedPort,
      String embeddedDataDir,
      boolean createSchema,
      Duration healthTimeout) {

    /** The three places a journal can be. */
    public enum Mode {
      /** the bundled PostgreSQL, in a temporary directory unless a data directory is given (local runs, tests) */
      EMBEDDED("embedded"),
      /** the bundled PostgreSQL in a durable directory on the node (gateway and worker members) */
      NODE_LOCAL("node-local"),
      /** a PostgreSQL server elsewhere (controllers) */
      EXTERNAL("external");

      private final String key;

      Mode(String key) {
        this.key = key;
      }

      /** The value of {@code egress.journal.mode} for this mode. */
      public String key() {
        return key;
      }

      static Mode parse(String value) {
        String v = value.trim().toLowerCase();
        for (Mode m : values()) {
          if (m.key.equals(v)) {
            return m;
          }
        }
        throw new IllegalArgumentException("egress.journal.mode must be 'embedded', 'node-local' or 'external', got '" + value + "'");
      }
    }

    /** Without a CA file of its own for the server's certificate (the JVM's trusted CAs, for verify-*). */
    public JournalSettings(Mode mode, String url, String host, int port, String database, String user, String password,
        String sslMode, int embeddedPort, String embeddedDataDir, boolean createSchema, Duration healthTimeout) {
      this(mode, url, host, port, database, user, password, sslMode, "", embeddedPort, embeddedDataDir, createSchema,
          healthTimeout);
    }

    public JournalSettings {
      java.util.Objects.requireNonNull(mode, "mode");
      sslRootCert = sslRootCert == null ? "" : sslRootCert.trim();
      if (!java.util.Set.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full").contains(sslMode)) {
        throw new IllegalArgumentException("egress.journal.ssl-mode must be disable, allow, prefer, require, verify-ca or"
            + " verify-full, got '" + sslMode + "'");
      }
      if (!sslRootCert.isEmpty() && !sslMode.startsWith("verify-")) {
        throw new IllegalArgumentException("egress.journal.ssl-root-cert is used only with ssl-mode verify-ca or verify-full,"
            + " not " + sslMode);
      }
      if (mode == Mode.EXTERNAL && url.isBlank() && host.isBlank()) {
        throw new IllegalArgumentException("egress.journal: external mode needs url or host");
      }
      if (mode == Mode.NODE_LOCAL && (embeddedDataDir.isBlank() || !java.nio.file.Path.of(embeddedDataDir).isAbsolute())) {
        throw new IllegalArgumentException("egress.journal.mode = node-local needs an absolute egress.journal.embedded.data-dir"
            + " (EGRESS_JOURNAL_DATA_DIR), the durable directory of this node's journal; got '" + embeddedDataDir + "'");
      }
      if (port <= 0 || port > 65535) {
        throw new IllegalArgumentException("egress.journal.port out of range: " + port);
      }
      if (embeddedPort < 0 || embeddedPort > 65535) {
        throw new IllegalArgumentException("egress.journal.embedded.port out of range: " + embeddedPort);
      }
    }

    static JournalSettings fromConfig(Config c) {
      return new JournalSettings(
          Mode.parse(c.getString("mode")),
          c.getString("url"),
          c.getString("host"),
          c.getInt("port"),
          c.getString("database"),
          c.getString("user"),
          c.getString("password"),
          c.getString("ssl-mode"),
          c.hasPath("ssl-root-cert") ? c.getString("ssl-root-cert") : "",
          c.getInt("embedded.port"),
          c.getString("embedded.data-dir"),
          c.getBoolean("create-schema"),
          c.getDuration("health-timeout"));
    }

    /** True when this member runs the bundled PostgreSQL itself ({@code embedded} or {@code node-local}). */
    public boolean embedded() {
      return mode != Mode.EXTERNAL;
    }

    /** True when the bundled PostgreSQL keeps its data in a directory that outlives the member. */
    public boolean durable() {
      return embedded() && !embeddedDataDir.isBlank();
    }

    /**
     * The same settings pointing at a running embedded database on {@code actualPort}, reached as its
     * superuser with {@code actualPassword}.
     */
    public JournalSettings resolvedEmbedded(int actualPort, String actualPassword) {
      return new JournalSettings(mode, "", "127.0.0.1", actualPort, "postgres", "postgres", actualPassword, "disable", "",
          actualPort, embeddedDataDir, createSchema, healthTimeout);
    }

    public String jdbcUrl() {
      if (!url.isBlank()) {
        return url.replaceFirst("^r2dbc:postgres(ql)?://", "jdbc:postgresql://");
      }
      String url = "jdbc:postgresql://" + host + ":" + port + "/" + database + "?sslmode=" + sslMode;
      if (!sslRootCert.isEmpty()) {
        return url + "&sslrootcert=" + java.net.URLEncoder.encode(sslRootCert, java.nio.charset.StandardCharsets.UTF_8);
      }
      // without a CA file, the JVM's trusted CAs (pgjdbc would look for ~/.postgresql/root.crt instead); the
      // host name is still checked for verify-full
      return sslMode.startsWith("verify-") ? url + "&sslfactory=org.postgresql.ssl.DefaultJavaSSLFactory" : url;
    }

    @Override
    public String toString() {
      // never print the password
      return switch (mode) {
        case EMBEDDED -> "embedded PostgreSQL on 127.0.0.1:" + port;
        case NODE_LOCAL -> "node-local PostgreSQL on 127.0.0.1:" + port;
        case EXTERNAL -> "PostgreSQL " + (url.isBlank() ? host + ":" + port + "/" + database
            : url.replaceAll("//[^@/]*@", "//***@").replaceAll("(?i)([?&;](password|sslpassword)=)[^&;]*", "$1***"));
      };
    }
  }
}
