package io.egressgateway.core.journal;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.settings.CoreSettings.JournalSettings;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The member's event journal: either the bundled PostgreSQL started by this object ({@link LocalPostgres},
 * stopped by {@link #close()}), in a temporary directory or in a durable one (node-local mode), or an
 * external database. In every case the plugin's schema is ensured before the actor system starts, and
 * {@link #akkaConfig()} gives the akka-persistence-r2dbc connection settings that point at it.
 */
public final class Journal implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Journal.class);

  private final JournalSettings settings;
  private final LocalPostgres local;
  private final Path ownedDir;
  private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

  private Journal(JournalSettings settings, LocalPostgres local, Path ownedDir) {
    this.settings = settings;
    this.local = local;
    this.ownedDir = ownedDir;
  }

  /** Starts the bundled database if configured, then ensures the schema. */
  public static Journal start(JournalSettings settings) {
    if (!settings.embedded()) {
      Journal j = new Journal(settings, null, null);
      if (settings.createSchema()) {
        j.ensureSchema();
      }
      log.info("journal: {}", settings);
      return j;
    }
    Path dir = null;
    Path owned = null;
    LocalPostgres pg = null;
    try {
      if (settings.durable()) {
        dir = Path.of(settings.embeddedDataDir()).toAbsolutePath().normalize();
      } else {
        owned = Files.createTempDirectory("egress-journal-");
        dir = owned.resolve("db");
      }
      pg = LocalPostgres.start(dir, settings.embeddedPort(), settings.durable());
      Journal j = new Journal(settings.resolvedEmbedded(pg.port(), pg.password()), pg, owned);
      j.ensureSchema();
      log.info("journal: {} (data in {})", j.settings, dir);
      return j;
    } catch (IOException | RuntimeException e) {
      if (pg != null) {
        try {
          pg.close();
        } catch (IOException | RuntimeException stop) {
          e.addSuppressed(stop);
        }
      }
      if (owned != null) {
        LocalPostgres.deleteTree(owned);
      }
      String why = "could not start the " + settings.mode().key() + " PostgreSQL journal in " + dir + ": " + e.getMessage();
      if (e instanceof IOException io) {
        throw new UncheckedIOException(why, io);
      }
      throw new IllegalStateException(why, e);
    }
  }

  /**
   * Stops a PostgreSQL server left running on the journal directory {@code dir} by a member that is gone
   * (killed before it could stop it); true when none is running there any more. For whoever removes node
   * directories (the sandbox's teardown); a member starting on the directory does the same by itself.
   */
  public static boolean stopLeftoverServer(Path dir) {
    return !Files.isDirectory(dir) || LocalPostgres.stopLeftoverServer(dir);
  }

  public JournalSettings settings() {
    return settings;
  }

  public boolean isEmbedded() {
    return local != null;
  }

  /** The connection settings for akka-persistence-r2dbc (put these above the rest of the config). */
  public Config akkaConfig() {
    String base = "akka.persistence.r2dbc.connection-factory.";
    Map<String, Object> m = new HashMap<>();
    if (!settings.url().isBlank()) {
      m.put(base + "url", settings.url());
    } else {
      m.put(base + "host", settings.host());
      m.put(base + "port", settings.port());
      m.put(base + "database", settings.database());
    }
    m.put(base + "user", settings.user());
    m.put(base + "password", settings.password());
    if (!"disable".equals(settings.sslMode())) {
      m.put(base + "ssl.enabled", true);
      m.put(base + "ssl.mode", settings.sslMode());
      if (!settings.sslRootCert().isEmpty()) {
        m.put(base + "ssl.root-cert", settings.sslRootCert());
      }
    }
    return ConfigFactory.parseMap(m);
  }

  /** Creates the plugin's tables if they are missing. Safe to run on every start and on every member. */
  public void ensureSchema() {
    String ddl;
    try (InputStream in = Journal.class.getResourceAsStream("/egress-journal-schema.sql")) {
      ddl = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try (Connection c = DriverManager.getConnection(settings.jdbcUrl(), settings.user(), settings.password());
        Statement st = c.createStatement()) {
      // concurrent members may race on CREATE ... IF NOT EXISTS; serialise them on an advisory lock
      st.execute("SELECT pg_advisory_lock(7420913)");
      try {
        st.execute(ddl);
      } finally {
        st.execute("SELECT pg_advisory_unlock(7420913)");
      }
    } catch (SQLException e) {
      throw new IllegalStateException("could not create the journal schema on " + settings + ": " + e.getMessage(), e);
    }
  }

  /**
   * Stops the bundled database (and deletes its temporary directory; a durable one stays); no-op for an
   * external one. Idempotent.
   */
  @Override
  public synchronized void close() {
    // synchronized: a second caller (main thread and shutdown hook) waits until the first has finished
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (local != null) {
      try {
        local.close();
        log.info("journal: {} PostgreSQL stopped", settings.mode().key());
      } catch (IOException | RuntimeException e) {
        log.warn("journal: stopping the {} PostgreSQL failed: {}", settings.mode().key(), e.getMessage());
      }
    }
    if (ownedDir != null) {
      LocalPostgres.deleteTree(ownedDir);
    }
  }
}
