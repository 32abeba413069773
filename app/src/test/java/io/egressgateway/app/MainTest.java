package io.egressgateway.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import io.egressgateway.core.settings.CoreSettings;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The command line: generated help, clear errors for bad options, and what {@code egress local} configures. */
class MainTest {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    out.reset();
    err.reset();
    return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void helpListsTheCommandsAndEachCommandsOptions() {
    assertEquals(0, run("--help"));
    assertTrue(out().contains("Usage: egress") && out().contains("local") && out().contains("run"), out());
    assertEquals(0, run("help", "local"));
    assertTrue(out().contains("--node=NAME") && out().contains("--management-port=N") && out().contains("--remote-port=N"), out());
    assertEquals(0, run("local", "--help"));
    assertTrue(out().contains("--management-port=N"), out());
  }

  @Test
  void noCommandShowsTheHelpAsAUsageError() {
    assertEquals(2, run());
    assertTrue(out().contains("Usage: egress"), out());
  }

  @Test
  void badCommandsAndOptionsAreNamedWithTheHelp() {
    assertEquals(2, run("bogus"));
    assertTrue(err().contains("'bogus'") && err().contains("Usage: egress"), err());
    assertEquals(2, run("local", "--nope"));
    assertTrue(err().contains("Unknown option: '--nope'"), err());
    assertEquals(2, run("local", "--management-port", "x"));
    assertTrue(err().contains("--management-port") && err().contains("'x'"), err());
    assertEquals(2, run("local", "--remote-port", "70000"));
    assertTrue(err().contains("--remote-port needs a port number (0-65535), got 70000"), err());
    assertEquals(2, run("local", "--node"));
    assertTrue(err().contains("Missing required parameter for option '--node'"), err());
    assertEquals(2, run("run", "extra"));
    assertTrue(err().contains("'extra'"), err());
  }

  @Test
  void localRunsEveryRoleOnTheEmbeddedJournalOnLoopback() {
    CoreSettings s = CoreSettings.fromConfig(Main.localConfig("--node", "dev"));
    assertEquals("dev", s.nodeName());
    assertEquals(java.util.Set.of("controller", "gateway", "worker"), s.roles());
    assertTrue(s.journal().embedded());
    Config c = Main.localConfig();
    assertEquals("local", c.getString("egress.node-name"));
    assertEquals("127.0.0.1", c.getString("akka.management.http.hostname"));
    assertEquals(8558, c.getInt("akka.management.http.port"));
    assertEquals(25520, c.getInt("akka.remote.artery.canonical.port"));
    assertFalse(c.getBoolean("egress.app.kubernetes-api"), "egress local has no Kubernetes API");
    Config ports = Main.localConfig("--management-port", "8600", "--remote-port", "0");
    assertEquals(8600, ports.getInt("akka.management.http.port"));
    assertEquals(0, ports.getInt("akka.remote.artery.canonical.port"));
  }
}
