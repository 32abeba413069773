package io.egressgateway.core.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Props;
import io.egressgateway.core.EgressMember;
import io.egressgateway.core.Roles;
import io.egressgateway.core.TestMembers;
import io.egressgateway.core.settings.CoreSettings.JournalSettings;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The node-local journal (gateway and worker members): the bundled PostgreSQL on a durable directory that
 * a restarted member opens again as it left it, private to whoever can read its password file.
 */
class NodeLocalJournalTest {
  private Path base;
  private Path dir;

  @BeforeEach
  void makeDir() throws Exception {
    base = Files.createTempDirectory("egress-node-journal-");
    // as a hostPath volume: the parent exists, the journal directory is made (or found 0755) by the member
    dir = base.resolve("journal-worker");
  }

  @AfterEach
  void removeDir() {
    Journal.stopLeftoverServer(dir);
    LocalPostgres.deleteTree(base);
  }

  private JournalSettings nodeLocal() {
    return new JournalSettings(JournalSettings.Mode.NODE_LOCAL, "", "127.0.0.1", 5432, "postgres", "postgres", "",
        "disable", 0, dir.toString(), true, Duration.ofSeconds(2));
  }

  @Test
  void eventsPersistedByAnEntitySurviveAStopAndAStartOnTheSameDirectory() throws Exception {
    String password;
    try (TestMembers members = new TestMembers(Journal.start(nodeLocal()))) {
      password = members.journal().settings().password();
      EgressMember first = members.startUp("w1", List.of(Roles.WORKER), null);
      ActorRef<JournalRecoveryTest.Tally.Command> t = first.system().systemActorOf(JournalRecoveryTest.tally("t-1"), "tally", Props.empty());
      TestProbe<Integer> p = TestProbe.create(first.system());
      for (int i = 1; i <= 4; i++) {
        t.tell(new JournalRecoveryTest.Tally.Add(i, p.getRef()));
        p.expectMessageClass(Integer.class, Duration.ofSeconds(10));
      }
    }
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("password"))));
    assertTrue(Files.isDirectory(dir.resolve("pgdata")) && !Files.exists(dir.resolve("pgdata.init")));
    assertFalse(Files.exists(dir.resolve("pgdata/postmaster.pid")), "a stopped journal leaves no server behind");

    try (TestMembers members = new TestMembers(Journal.start(nodeLocal()))) {
      assertEquals(password, members.journal().settings().password(), "the password is kept, not made again");
      EgressMember second = members.startUp("w1", List.of(Roles.WORKER), null);
      ActorRef<JournalRecoveryTest.Tally.Command> again = second.system().systemActorOf(JournalRecoveryTest.tally("t-1"), "tally", Props.empty());
      TestProbe<Integer> q = TestProbe.create(second.system());
      again.tell(new JournalRecoveryTest.Tally.Get(q.getRef()));
      assertEquals(10, q.expectMessageClass(Integer.class, Duration.ofSeconds(10)));
    }
  }

  @Test
  void onlyAPasswordLoginOverLoopbackGetsIn() throws Exception {
    try (Journal journal = Journal.start(nodeLocal())) {
      JournalSettings s = journal.settings();
      assertEquals(s.password(), Files.readString(dir.resolve("password")).trim());
      assertTrue(s.password().length() >= 40, "a generated password of 32 random bytes");
      SQLException none = assertThrows(SQLException.class, () -> DriverManager.getConnection(s.jdbcUrl(), "postgres", ""));
      assertTrue(none.getMessage().contains("password"), none.getMessage());
      assertThrows(SQLException.class, () -> DriverManager.getConnection(s.jdbcUrl(), "postgres", "postgres"));
      try (Connection c = DriverManager.getConnection(s.jdbcUrl(), s.user(), s.password());
          Statement st = c.createStatement()) {
        assertEquals("", show(st, "unix_socket_directories"), "no unix socket");
        assertEquals("127.0.0.1", show(st, "listen_addresses"));
        assertEquals("on", show(st, "fsync"));
        assertEquals("on", show(st, "synchronous_commit"));
        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_hba_file_rules WHERE auth_method <> 'scram-sha-256'")) {
          rs.next();
          assertEquals(0, rs.getInt(1), "every pg_hba rule asks for a password");
        }
      }
    }
  }

  @Test
  void aSecondProcessOnTheSameDirectoryIsRefused() {
    try (Journal journal = Journal.start(nodeLocal())) {
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> Journal.start(nodeLocal()));
      assertTrue(e.getMessage().contains("another process runs the journal"), e.getMessage());
      assertTrue(journal.isEmbedded());
    }
  }

  @Test
  void aPostmasterPidNamingAnotherLiveProcessDoesNotPreventTheStart() throws Exception {
    Path pidFile = dir.resolve("pgdata/postmaster.pid");
    List<String> recorded;
    try (Journal journal = Journal.start(nodeLocal())) {
      write(journal, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)");
      recorded = Files.readAllLines(pidFile);
    }
    // as after a container restart: the old server's PID now belongs to something else that is alive
    Process stranger = new ProcessBuilder("sleep", "60").start();
    try {
      List<String> stale = new ArrayList<>(recorded);
      stale.set(0, Long.toString(stranger.pid()));
      Files.write(pidFile, stale);
      try (Journal journal = Journal.start(nodeLocal())) {
        assertEquals(7, readKept(journal));
      }
      assertTrue(stranger.isAlive(), "the process that reused the PID is left alone");
    } finally {
      stranger.destroyForcibly();
    }
  }

  @Test
  void aServerLeftRunningByAKilledMemberIsStoppedAndItsDataKept() throws Exception {
    List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), KilledMember.class.getName(), dir.toString());
    Process member = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    long serverPid = -1;
    try (BufferedReader out = new BufferedReader(new InputStreamReader(member.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith(KilledMember.READY)) {
          break;
        }
      }
      assertTrue(line != null, "the member process started its journal");
      member.destroyForcibly();
      assertTrue(member.waitFor(10, TimeUnit.SECONDS));
      serverPid = Long.parseLong(Files.readAllLines(dir.resolve("pgdata/postmaster.pid")).get(0).trim());
      assertTrue(ProcessHandle.of(serverPid).map(ProcessHandle::isAlive).orElse(false),
          "the killed member's PostgreSQL outlives it (pg_ctl detached it)");

      try (Journal journal = Journal.start(nodeLocal())) {
        assertEquals(42, readKept(journal));
      }
      assertFalse(ProcessHandle.of(serverPid).map(ProcessHandle::isAlive).orElse(false), "the leftover server was stopped");
    } finally {
      member.destroyForcibly();
      if (serverPid > 0) {
        ProcessHandle.of(serverPid).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }

  /** A member that starts its node-local journal, writes one row, says so, and waits to be killed. */
  public static final class KilledMember {
    static final String READY = "KILLED-MEMBER-READY";

    public static void main(String[] args) throws Exception {
      JournalSettings s = new JournalSettings(JournalSettings.Mode.NODE_LOCAL, "", "127.0.0.1", 5432, "postgres",
          "postgres", "", "disable", 0, args[0], true, Duration.ofSeconds(2));
      Journal journal = Journal.start(s);
      write(journal, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)");
      System.out.println(READY);
      System.out.flush();
      // until the test kills this process (at most two minutes)
      new java.util.concurrent.CountDownLatch(1).await(2, java.util.concurrent.TimeUnit.MINUTES);
    }
  }

  private static void write(Journal journal, String sql) throws SQLException {
    JournalSettings s = journal.settings();
    try (Connection c = DriverManager.getConnection(s.jdbcUrl(), s.user(), s.password()); Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  private static int readKept(Journal journal) throws SQLException {
    JournalSettings s = journal.settings();
    try (Connection c = DriverManager.getConnection(s.jdbcUrl(), s.user(), s.password());
        Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT v FROM kept")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static String show(Statement st, String setting) throws SQLException {
    try (ResultSet rs = st.executeQuery("SHOW " + setting)) {
      rs.next();
      return rs.getString(1);
    }
  }
}
