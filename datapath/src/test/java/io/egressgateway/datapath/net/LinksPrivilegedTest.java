package io.egressgateway.datapath.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
 * the test's own: name, alias, up or not; a missing link or namespace reads as none, as with {@code ip}. A link
 * brought up or moved into another namespace (renamed, aliased, up) over rtnetlink ends as {@code ip link set}
 * leaves it, and what the kernel refuses fails alike.
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
    Privileged.namespaceWithVeth(cmd, ns, "egwtl0", "egwtl1");
    cmd.run(Net.ip(ns, "link", "set", "egwtl0", "alias", "wg1234abcd5678", "up"));
  }

  @AfterEach
  void tearDown() {
    Net.deleteNetns(cmd, ns);
    Net.deleteNetns(cmd, ns + "-to");
  }

  @Test
  void aLinkIsBroughtUpAndMovedAsIpDoesIt() throws Exception {
    String to = ns + "-to";
    Net.ensureNetns(cmd, to);
    assertTrue(Net.linkUp(cmd, ns, "egwtl1"));
    assertEquals(Optional.of(new Net.Link("egwtl1", "", true)), Net.link(viaIp, ns, "egwtl1"));
    assertFalse(Net.linkUp(cmd, ns, "egwtl9"), "no such link");

    cmd.run(Net.ip(ns, "link", "add", "egwtm0", "type", "veth", "peer", "name", "egwtm0p"));
    Net.moveLink(cmd, ns, "egwtm0", to, "wg0", "wgabcdef0123");
    assertEquals(Optional.of(new Net.Link("wg0", "wgabcdef0123", true)), Net.link(viaIp, to, "wg0"));
    assertEquals(Optional.empty(), Net.link(viaIp, ns, "egwtm0"), "gone from where it was");

    // the ip path (a runner whose commands run through env) leaves the same
    cmd.run(Net.ip(ns, "link", "add", "egwtm1", "type", "veth", "peer", "name", "egwtm1p"));
    Net.moveLink(viaIp, ns, "egwtm1", to, "wg1", "wgabcdef4567");
    assertEquals(Optional.of(new Net.Link("wg1", "wgabcdef4567", true)), Net.link(cmd, to, "wg1"));

    // refused alike: the name is taken there (the kernel has moved the link before it refuses the name, with
    // ip as well), no such link
    cmd.run(Net.ip(ns, "link", "add", "egwtm2", "type", "veth", "peer", "name", "egwtm2p"));
    IllegalStateException taken = assertThrows(IllegalStateException.class,
        () -> Net.moveLink(cmd, ns, "egwtm2", to, "wg0", "wgabcdef89ab"));
    assertTrue(taken.getMessage().contains("errno 17"), taken.getMessage());
    cmd.run(Net.ip(ns, "link", "add", "egwtm3", "type", "veth", "peer", "name", "egwtm3p"));
    assertThrows(RuntimeException.class, () -> Net.moveLink(viaIp, ns, "egwtm3", to, "wg0", "wgabcdef89ab"));
    Optional<Net.Link> leftByNetlink = Net.link(viaIp, to, "egwtm2");
    Optional<Net.Link> leftByIp = Net.link(viaIp, to, "egwtm3");
    assertTrue(leftByNetlink.isPresent() && leftByIp.isPresent(), leftByNetlink + " " + leftByIp);
    assertEquals(leftByIp.get().alias() + leftByIp.get().up(), leftByNetlink.get().alias() + leftByNetlink.get().up());
    // deleted, and a missing link is no error to throw but a false
    assertTrue(Net.deleteLink(cmd, to, "wg1"));
    assertEquals(Optional.empty(), Net.link(viaIp, to, "wg1"));
    assertFalse(Net.deleteLink(cmd, to, "wg1"));
    assertFalse(Net.deleteLink(viaIp, to, "wg1"));
    NetlinkSocket.NetlinkException missing = assertThrows(NetlinkSocket.NetlinkException.class,
        () -> Links.move(NETNS_DIR, ns, "egwtm9", to, "wg9", "x"));
    assertEquals(NetlinkSocket.ENODEV, missing.errno());
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
