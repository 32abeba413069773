package io.egressgateway.datapath.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.Privileged;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.IfName;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The reply-marking table over nfnetlink against {@code nft -f} on the same kernel: both make a table that
 * {@code nft list} prints alike; a replacement undoes changes made to the table meanwhile and leaves other tables
 * alone; a delete reports whether there was a table.
 */
@Tag("privileged")
class NfTablesPrivilegedTest {
  private static final Path NETNS = Path.of("/var/run/netns");
  private static final String TABLE = "egwt_reply";
  private final CommandRunner cmd = new CommandRunner();
  private final String sfx = Privileged.suffix();
  private final String viaNetlink = "egwt-nfn-" + sfx;
  private final String viaNft = "egwt-nft-" + sfx;

  @AfterEach
  void tearDown() {
    Net.deleteNetns(cmd, viaNetlink);
    Net.deleteNetns(cmd, viaNft);
  }

  private String list(String ns) {
    return Nft.listTable(cmd, ns, "ip", TABLE);
  }

  @Test
  void theTableOverNetlinkIsTheTableNftMakesAndAReplacementIsWhole() throws Exception {
    Privileged.require();
    Net.ensureNetns(cmd, viaNetlink);
    Net.ensureNetns(cmd, viaNft);
    IfName eth0 = IfName.parse("eth0");
    NfTables.replaceReplyMarking(NETNS, viaNetlink, TABLE, eth0, 0x2222);
    Nft.replaceTable(cmd, viaNft, "ip", TABLE, Nft.replyMarkingBody(eth0, 0x2222));
    String made = list(viaNft);
    assertTrue(made.contains("iifname \"eth0\" ct state new ct mark set 0x00002222"), made);
    assertTrue(made.contains("ct mark 0x00002222 meta mark set 0x00002222"), made);
    assertEquals(made, list(viaNetlink));

    // someone changed the table, and another table is there: the replacement restores ours and keeps theirs
    cmd.run(CommandRunner.inNetns(viaNetlink, List.of("nft", "add", "rule", "ip", TABLE, "output", "counter")));
    cmd.run(CommandRunner.inNetns(viaNetlink, List.of("nft", "add", "table", "ip", "egwt_other")));
    assertFalse(list(viaNetlink).equals(made));
    NfTables.replaceReplyMarking(NETNS, viaNetlink, TABLE, eth0, 0x2222);
    NfTables.replaceReplyMarking(NETNS, viaNetlink, TABLE, eth0, 0x2222);
    assertEquals(made, list(viaNetlink));
    assertTrue(Nft.listTable(cmd, viaNetlink, "ip", "egwt_other").contains("table ip egwt_other"));

    // another mark and device: what nft makes of the same text
    NfTables.replaceReplyMarking(NETNS, viaNetlink, TABLE, IfName.parse("veth-x1"), 0x1);
    Nft.replaceTable(cmd, viaNft, "ip", TABLE, Nft.replyMarkingBody(IfName.parse("veth-x1"), 0x1));
    assertEquals(list(viaNft), list(viaNetlink));

    assertTrue(NfTables.deleteTable(NETNS, viaNetlink, TABLE));
    assertEquals("", list(viaNetlink));
    assertFalse(NfTables.deleteTable(NETNS, viaNetlink, TABLE), "nothing left to delete");
    assertTrue(Net.deleteNftTable(cmd, viaNft, TABLE));
    assertFalse(Net.deleteNftTable(cmd, viaNft, TABLE));
    Net.replaceReplyMarking(cmd, viaNft, TABLE, eth0, 0x2222);
    assertEquals(made, list(viaNft));

    NetlinkSocket.NetlinkException gone = assertThrows(NetlinkSocket.NetlinkException.class,
        () -> NfTables.replaceReplyMarking(NETNS, "egwt-nfg-" + sfx, TABLE, eth0, 0x2222));
    assertEquals(Libc.ENOENT, gone.errno());
    assertThrows(IllegalStateException.class, () -> Net.replaceReplyMarking(cmd, "egwt-nfg-" + sfx, TABLE, eth0, 0x2222));
    assertFalse(Net.deleteNftTable(cmd, "egwt-nfg-" + sfx, TABLE));
  }
}
