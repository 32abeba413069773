package io.egressgateway.kube.audit;

import io.egressgateway.kube.model.EgressHistory.Egress;
import io.egressgateway.kube.model.EgressHistory.PodUse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The egress audit's two tables in the controllers' journal database (PostgreSQL): pod uses of configurations
 * and configurations' egresses per gateway node, each an interval {@code [from, to)} with {@code to} null while
 * it lasts. Every write is idempotent (at most one open row per pod use and per egress, guarded by partial unique
 * indexes), so both controllers may record the same change and a replayed change adds nothing.
 *
 * <p>Not thread-safe: one writer thread owns an instance ({@link EgressAudit}); queries open their own connection
 * through {@link #reader()}.
 */
public final class AuditStore implements AutoCloseable {
  private static final String SCHEMA = """
      CREATE TABLE IF NOT EXISTS egress_audit_pod_use (
        id BIGSERIAL PRIMARY KEY,
        pod_uid TEXT NOT NULL, namespace TEXT NOT NULL, pod TEXT NOT NULL, pod_ip TEXT NOT NULL,
        config_key TEXT NOT NULL, from_ts TIMESTAMPTZ NOT NULL, to_ts TIMESTAMPTZ);
      CREATE UNIQUE INDEX IF NOT EXISTS egress_audit_pod_use_open
        ON egress_audit_pod_use (pod_uid, config_key, pod_ip) WHERE to_ts IS NULL;
      CREATE INDEX IF NOT EXISTS egress_audit_pod_use_pod ON egress_audit_pod_use (namespace, pod, from_ts);
      CREATE INDEX IF NOT EXISTS egress_audit_pod_use_config ON egress_audit_pod_use (config_key, from_ts);
      CREATE TABLE IF NOT EXISTS egress_audit_egress (
        id BIGSERIAL PRIMARY KEY,
        config_key TEXT NOT NULL, config_uid TEXT NOT NULL, gateway_node TEXT NOT NULL, secondary_ip TEXT NOT NULL,
        prefix TEXT NOT NULL, from_ts TIMESTAMPTZ NOT NULL, to_ts TIMESTAMPTZ);
      CREATE UNIQUE INDEX IF NOT EXISTS egress_audit_egress_open
        ON egress_audit_egress (config_key, config_uid, gateway_node, secondary_ip, prefix) WHERE to_ts IS NULL;
      CREATE INDEX IF NOT EXISTS egress_audit_egress_from ON egress_audit_egress (from_ts);
      """;
  private static final String POD_COLUMNS = "pod_uid, namespace, pod, pod_ip, config_key, from_ts, to_ts";
  private static final String EGRESS_COLUMNS = "config_key, config_uid, gateway_node, secondary_ip, prefix, from_ts, to_ts";

  /** How to reach the database (the journal's JDBC settings). */
  public record Target(String jdbcUrl, String user, String password) {
    @Override
    public String toString() {
      return jdbcUrl + " as " + user; // never the password
    }
  }

  private final Target target;
  private Connection connection;

  public AuditStore(Target target) {
    this.target = target;
  }

  /** A second store on the same database, for queries from another thread. */
  public AuditStore reader() {
    return new AuditStore(target);
  }

  public Target target() {
    return target;
  }

  private Connection connection() throws SQLException {
    if (connection == null || connection.isClosed()) {
      java.util.Properties props = new java.util.Properties();
      props.setProperty("user", target.user());
      props.setProperty("password", target.password());
      // a database that hangs must not hang the writer: the write fails and is retried
      props.setProperty("connectTimeout", "10");
      props.setProperty("socketTimeout", "30");
      props.setProperty("ApplicationName", "egress-audit");
      connection = DriverManager.getConnection(target.jdbcUrl(), props);
      connection.setAutoCommit(false);
    }
    return connection;
  }

  /** Drops the connection after a failure, so the next call opens a fresh one. */
  public void reset() {
    close();
  }

  @Override
  public void close() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException ignored) {
        // already broken
      }
      connection = null;
    }
  }

  public void ensureSchema() throws SQLException {
    Connection c = connection();
    try (Statement st = c.createStatement()) {
      st.execute("SELECT pg_advisory_xact_lock(7420914)"); // two controllers starting together
      st.execute(SCHEMA);
    }
    commit(c);
  }

  /** The pod uses {@code present} now; any other open use of the same pod ends at {@code at}. */
  public void recordPod(PodUse use, Instant at) throws SQLException {
    Connection c = connection();
    try {
      try (PreparedStatement close = c.prepareStatement("UPDATE egress_audit_pod_use SET to_ts = ? WHERE pod_uid = ?"
          + " AND to_ts IS NULL AND (config_key <> ? OR pod_ip <> ?)")) {
        close.setObject(1, ts(at));
        close.setString(2, use.podUid());
        close.setString(3, use.configKey());
        close.setString(4, use.podIp());
        close.executeUpdate();
      }
      insertPod(c, use);
      commit(c);
    } catch (SQLException e) {
      rollback(c);
      throw e;
    }
  }

  /** Every open use of the pod ends at {@code at}. */
  public void endPod(String podUid, Instant at) throws SQLException {
    Connection c = connection();
    try (PreparedStatement st = c.prepareStatement("UPDATE egress_audit_pod_use SET to_ts = ? WHERE pod_uid = ? AND to_ts IS NULL")) {
      st.setObject(1, ts(at));
      st.setString(2, podUid);
      st.executeUpdate();
      commit(c);
    } catch (SQLException e) {
      rollback(c);
      throw e;
    }
  }

  /** The complete set of pod uses now: those missing end at {@code at}, those new begin at their own {@code from}. */
  public void syncPods(Collection<PodUse> present, Instant at) throws SQLException {
    Connection c = connection();
    try {
      Set<List<String>> keep = new HashSet<>();
      present.forEach(u -> keep.add(List.of(u.podUid(), u.configKey(), u.podIp())));
      List<List<String>> open = new ArrayList<>();
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT pod_uid, config_key, pod_ip FROM egress_audit_pod_use WHERE to_ts IS NULL")) {
        while (rs.next()) {
          open.add(List.of(rs.getString(1), rs.getString(2), rs.getString(3)));
        }
      }
      try (PreparedStatement close = c.prepareStatement("UPDATE egress_audit_pod_use SET to_ts = ?"
          + " WHERE pod_uid = ? AND config_key = ? AND pod_ip = ? AND to_ts IS NULL")) {
        for (List<String> k : open) {
          if (!keep.contains(k)) {
            close.setObject(1, ts(at));
            close.setString(2, k.get(0));
            close.setString(3, k.get(1));
            close.setString(4, k.get(2));
            close.addBatch();
          }
        }
        close.executeBatch();
      }
      for (PodUse u : present) {
        insertPod(c, u);
      }
      commit(c);
    } catch (SQLException e) {
      rollback(c);
      throw e;
    }
  }

  /**
   * The egresses of configuration {@code configKey} now ({@code egresses} without intervals): open ones no longer
   * named end at {@code at}, new ones begin at {@code at}. An empty set ends them all (configuration gone).
   */
  public void recordEgress(String configKey, Set<Egress> egresses, Instant at) throws SQLException {
    recordEgress(Map.of(configKey, egresses), at, false);
  }

  /** Like {@link #recordEgress(String, Set, Instant)} for several configurations; {@code complete}: any other ends. */
  public void recordEgress(Map<String, Set<Egress>> byConfig, Instant at, boolean complete) throws SQLException {
    Connection c = connection();
    try {
      List<Egress> open = new ArrayList<>();
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT " + EGRESS_COLUMNS + " FROM egress_audit_egress WHERE to_ts IS NULL")) {
        while (rs.next()) {
          open.add(egress(rs).open());
        }
      }
      try (PreparedStatement close = c.prepareStatement("UPDATE egress_audit_egress SET to_ts = ? WHERE config_key = ?"
          + " AND config_uid = ? AND gateway_node = ? AND secondary_ip = ? AND prefix = ? AND to_ts IS NULL")) {
        for (Egress e : open) {
          Set<Egress> now = byConfig.get(e.configKey());
          boolean ends = now == null ? complete : !now.contains(e);
          if (ends) {
            close.setObject(1, ts(at));
            close.setString(2, e.configKey());
            close.setString(3, e.configUid());
            close.setString(4, e.gatewayNode());
            close.setString(5, e.secondaryIp());
            close.setString(6, e.prefix());
            close.addBatch();
          }
        }
        close.executeBatch();
      }
      try (PreparedStatement insert = c.prepareStatement("INSERT INTO egress_audit_egress (" + EGRESS_COLUMNS + ")"
          + " VALUES (?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (config_key, config_uid, gateway_node, secondary_ip, prefix)"
          + " WHERE to_ts IS NULL DO NOTHING")) {
        for (Set<Egress> set : byConfig.values()) {
          for (Egress e : set) {
            insert.setString(1, e.configKey());
            insert.setString(2, e.configUid());
            insert.setString(3, e.gatewayNode());
            insert.setString(4, e.secondaryIp());
            insert.setString(5, e.prefix());
            insert.setObject(6, ts(at));
            insert.addBatch();
          }
        }
        insert.executeBatch();
      }
      commit(c);
    } catch (SQLException e) {
      rollback(c);
      throw e;
    }
  }

  /** Deletes what ended before {@code before}; returns how many rows went. */
  public int prune(Instant before) throws SQLException {
    Connection c = connection();
    try (PreparedStatement pods = c.prepareStatement("DELETE FROM egress_audit_pod_use WHERE to_ts < ?");
        PreparedStatement egress = c.prepareStatement("DELETE FROM egress_audit_egress WHERE to_ts < ?")) {
      pods.setObject(1, ts(before));
      egress.setObject(1, ts(before));
      int n = pods.executeUpdate() + egress.executeUpdate();
      commit(c);
      return n;
    } catch (SQLException e) {
      rollback(c);
      throw e;
    }
  }

  /** Egresses that overlap {@code [start, end]}. */
  public List<Egress> egresses(Instant start, Instant end) throws SQLException {
    Connection c = connection();
    try (PreparedStatement st = c.prepareStatement("SELECT " + EGRESS_COLUMNS + " FROM egress_audit_egress"
        + " WHERE from_ts <= ? AND (to_ts IS NULL OR to_ts >= ?) ORDER BY from_ts, id")) {
      st.setObject(1, ts(end));
      st.setObject(2, ts(start));
      List<Egress> out = new ArrayList<>();
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) {
          out.add(egress(rs));
        }
      }
      commit(c);
      return out;
    }
  }

  /** Pod uses of the given configurations that overlap {@code [start, end]}. */
  public List<PodUse> usesOfConfigs(Collection<String> configKeys, Instant start, Instant end) throws SQLException {
    if (configKeys.isEmpty()) {
      return List.of();
    }
    Connection c = connection();
    try (PreparedStatement st = c.prepareStatement("SELECT " + POD_COLUMNS + " FROM egress_audit_pod_use"
        + " WHERE config_key = ANY (?) AND from_ts <= ? AND (to_ts IS NULL OR to_ts >= ?) ORDER BY from_ts, id")) {
      st.setArray(1, c.createArrayOf("text", configKeys.toArray()));
      st.setObject(2, ts(end));
      st.setObject(3, ts(start));
      return pods(c, st);
    }
  }

  /** The uses of pod {@code namespace/pod} (every pod of that name, by uid) that overlap {@code [start, end]}. */
  public List<PodUse> usesOfPod(String namespace, String pod, Instant start, Instant end) throws SQLException {
    Connection c = connection();
    try (PreparedStatement st = c.prepareStatement("SELECT " + POD_COLUMNS + " FROM egress_audit_pod_use"
        + " WHERE namespace = ? AND pod = ? AND from_ts <= ? AND (to_ts IS NULL OR to_ts >= ?) ORDER BY from_ts, id")) {
      st.setString(1, namespace);
      st.setString(2, pod);
      st.setObject(3, ts(end));
      st.setObject(4, ts(start));
      return pods(c, st);
    }
  }

  private static List<PodUse> pods(Connection c, PreparedStatement st) throws SQLException {
    List<PodUse> out = new ArrayList<>();
    try (ResultSet rs = st.executeQuery()) {
      while (rs.next()) {
        out.add(new PodUse(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
            instant(rs, 6), instant(rs, 7)));
      }
    }
    commit(c);
    return out;
  }

  private static void insertPod(Connection c, PodUse u) throws SQLException {
    try (PreparedStatement st = c.prepareStatement("INSERT INTO egress_audit_pod_use (" + POD_COLUMNS + ")"
        + " VALUES (?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (pod_uid, config_key, pod_ip) WHERE to_ts IS NULL DO NOTHING")) {
      st.setString(1, u.podUid());
      st.setString(2, u.namespace());
      st.setString(3, u.pod());
      st.setString(4, u.podIp());
      st.setString(5, u.configKey());
      st.setObject(6, ts(u.from()));
      st.executeUpdate();
    }
  }

  private static Egress egress(ResultSet rs) throws SQLException {
    return new Egress(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
        instant(rs, 6), instant(rs, 7));
  }

  private static OffsetDateTime ts(Instant i) {
    return OffsetDateTime.ofInstant(i, ZoneOffset.UTC);
  }

  private static Instant instant(ResultSet rs, int column) throws SQLException {
    OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
    return t == null ? null : t.toInstant();
  }

  private static void commit(Connection c) throws SQLException {
    c.commit();
  }

  private static void rollback(Connection c) {
    try {
      c.rollback();
    } catch (SQLException ignored) {
      // the connection is reset by the caller
    }
  }
}
