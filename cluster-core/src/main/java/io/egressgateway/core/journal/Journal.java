package io.egressgateway.core.journal;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.egressgateway.core.settings.CoreSettings.JournalSettings;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
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
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The member's event journal: either an embedded PostgreSQL started from the bundled binaries (owned by
 * this object: started here, stopped by {@link #close()}), or an external database. In both cases the
 * plugin's schema is ensured before the actor system starts, and {@link #akkaConfig()} gives the
 * akka-persistence-r2dbc connection settings that point at it.
 */
public final class Journal implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Journal.class);

  private final JournalSettings settings;
  private final EmbeddedPostgres embedded;
  private final Path ownedDataDir;
  private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

  private Journal(JournalSettings settings, EmbeddedPostgres embedded, Path ownedDataDir) {
    this.settings = settings;
    this.embedded = embedded;
    this.ownedDataDir = ownedDataDir;
  }

  /** Starts the embedded database if configured, then ensures the schema. */
  public static Journal start(JournalSettings settings) {
    if (!settings.embedded()) {
      Journal j = new Journal(settings, null, null);
      if (settings.createSchema()) {
        j.ensureSchema();
      }
      log.info("journal: {}", settings);
      return j;
    }
    Path dataDir = null;
    Path owned = null;
    try {
      if (settings.embeddedDataDir().isBlank()) {
        owned = Files.createTempDirectory("egress-journal-");
        dataDir = owned;
      } else {
        dataDir = Path.of(settings.embeddedDataDir());
        Files.createDirectories(dataDir);
      }
      EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
          .setDataDirectory(dataDir)
          .setCleanDataDirectory(false)
          // stopping is ours: after coordinated shutdown, see EgressMember
          .setRegisterShutdownHook(false)
          .setPGStartupWait(java.time.Duration.ofSeconds(30));
      if (settings.embeddedPort() > 0) {
        builder.setPort(settings.embeddedPort());
      }
      EmbeddedPostgres pg = builder.start();
      Journal j = new Journal(settings.resolvedEmbedded(pg.getPort()), pg, owned);
      j.ensureSchema();
      log.info("journal: {} (data in {})", j.settings, dataDir);
      return j;
    } catch (IOException e) {
      if (owned != null) {
        deleteTree(owned);
      }
      throw new UncheckedIOException("could not start the embedded PostgreSQL journal in " + dataDir + ": " + e.getMessage(), e);
    }
  }

  public JournalSettings settings() {
    return settings;
  }

  public boolean isEmbedded() {
    return embedded != null;
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
   * Stops the embedded database (and deletes its temporary data directory); no-op for an external one.
   * Idempotent.
   */
  @Override
  public synchronized void close() {
    // synchronized: a second caller (main thread and shutdown hook) waits until the first has finished
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (embedded != null) {
      try {
        embedded.close();
        log.info("journal: embedded PostgreSQL stopped");
      } catch (IOException e) {
        log.warn("journal: stopping the embedded PostgreSQL failed: {}", e.getMessage());
      }
    }
    if (ownedDataDir != null) {
      deleteTree(ownedDataDir);
    }
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      log.warn("journal: could not delete {}: {}", root, e.getMessage());
    }
  }
}
