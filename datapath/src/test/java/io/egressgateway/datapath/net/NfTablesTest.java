package io.egressgateway.datapath.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.model.IfName;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The nf_tables transaction's framing and the reply-marking table's messages (no socket). */
class NfTablesTest {
  @Test
  void aTransactionIsFramedAndEveryChangeAsksForItsAcknowledgement() {
    List<NfTables.Change> changes = NfTables.replyMarking("kube_egress_pod", IfName.parse("eth0"), 0x2222);
    List<Netlink.Message> m = Netlink.split(ByteBuffer.wrap(NfTables.transaction(100, changes)));
    assertEquals(changes.size() + 2, m.size());
    assertEquals(NfTables.NFNL_MSG_BATCH_BEGIN, m.get(0).type());
    assertEquals(99, m.get(0).seq());
    assertEquals(NfTables.NFNL_MSG_BATCH_END, m.get(m.size() - 1).type());
    assertEquals(100 + changes.size(), m.get(m.size() - 1).seq());
    assertEquals(NfTables.NFNL_SUBSYS_NFTABLES, Short.toUnsignedInt(m.get(0).payload().order(java.nio.ByteOrder.BIG_ENDIAN).getShort(2)),
        "the batch is for nf_tables (resource id, network order)");
    List<Integer> types = m.subList(1, m.size() - 1).stream().map(x -> x.type() & 0xff).toList();
    assertEquals(List.of(NfTables.NFT_MSG_NEWTABLE, NfTables.NFT_MSG_DELTABLE, NfTables.NFT_MSG_NEWTABLE, NfTables.NFT_MSG_NEWCHAIN,
        NfTables.NFT_MSG_NEWRULE, NfTables.NFT_MSG_NEWCHAIN, NfTables.NFT_MSG_NEWRULE), types, "declare, delete, make again");
    for (int i = 1; i < m.size() - 1; i++) {
      Netlink.Message x = m.get(i);
      assertEquals(NfTables.NFNL_SUBSYS_NFTABLES, x.type() >> 8);
      assertEquals(99 + i, x.seq());
      assertTrue((x.flags() & Netlink.NLM_F_ACK) != 0, "acknowledged: the transaction's outcome is counted");
      assertEquals(NfTables.NFPROTO_IPV4, x.payload().get(0));
    }
  }

  @Test
  void anInterfaceNameFillsARegisterNulPadded() {
    byte[] r = NfTables.ifname(IfName.parse("eth0"));
    assertEquals(16, r.length);
    assertEquals("eth0", new String(r, 0, 4, java.nio.charset.StandardCharsets.US_ASCII));
    for (int i = 4; i < 16; i++) {
      assertEquals(0, r[i]);
    }
  }
}
