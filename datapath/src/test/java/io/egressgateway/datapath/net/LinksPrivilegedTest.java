package io.egressgateway.datapath.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.Privileged;
import io.egressgateway.datapath.command.CommandRunner;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A link read over rtnetlink ({@link Links}) is the link {@code ip -o link show} describes, in a namespace of
 * the test's own: name, alias, up or not; a missing link or namespace reads as none, as with {@code ip}.
 */
@Tag("privileged")
class LinksPrivilegedTest {
  private static final Path NETNS_DIR = Path.of("/var/run/netns");
  private final CommandRunner cmd = new CommandRunner();
  /** The same commands, run through env: what this process could read directly is not used (the ip path). */
  private final CommandRunner viaIp = new CommandRunner().within(List.of("env"));
  private final String ns = "egwt-links-" + Privileged.suffix();

  @BeforeEach
  void setUp() {
    Privileged.require();
    Net.ensureNetns(cmd, ns);
    cmd.run(Net.ip(ns, "link", "add", "egwtl0", "type", "veth", "peer", "name", "egwtl1"));
    cmd.run(Net.ip(ns, "link", "set", "egwtl0", "alias", "wg1234abcd5678", "up"));
  }

  @AfterEach
  void tearDown() {
    Net.deleteNetns(cmd, ns);
  }

  @Test
  void aLinkReadsOverNetlinkAsIpShowsIt() throws Exception {
    Optional<Net.Link> up = Links.get(NETNS_DIR, ns, "egwtl0");
    assertEquals(Optional.of(new Net.Link("egwtl0", "wg1234abcd5678", true)), up);
    assertEquals(Net.link(viaIp, ns, "egwtl0"), up);
    Optional<Net.Link> down = Links.get(NETNS_DIR, ns, "egwtl1");
    assertEquals(Optional.of(new Net.Link("egwtl1", "", false)), down);
    assertEquals(Net.link(viaIp, ns, "egwtl1"), down);
    assertEquals(up, Net.link(cmd, ns, "egwtl0"));
    assertTrue(Links.get(NETNS_DIR, "", "lo").isPresent(), "this process's own namespace");
  }

  @Test
  void aMissingLinkOrNamespaceReadsAsNone() throws Exception {
    assertEquals(Optional.empty(), Links.get(NETNS_DIR, ns, "egwtl9"));
    assertEquals(Optional.empty(), Net.link(viaIp, ns, "egwtl9"));
    assertEquals(Optional.empty(), Links.get(NETNS_DIR, ns + "-gone", "egwtl0"));
    assertEquals(Optional.empty(), Net.link(viaIp, ns + "-gone", "egwtl0"));
    assertEquals(Optional.empty(), Net.link(cmd, ns + "-gone", "egwtl0"));
  }
}
