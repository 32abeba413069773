package io.egressgateway.datapath.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The rtnetlink link requests as {@code linux/rtnetlink.h} and {@code if_link.h} lay them out (no socket). */
class LinksTest {
  private static Netlink.Message one(byte[] request) {
    List<Netlink.Message> m = Netlink.split(ByteBuffer.wrap(request));
    assertEquals(1, m.size());
    return m.get(0);
  }

  @Test
  void bringingUpNamesTheLinkAndChangesOnlyIffUp() {
    Netlink.Message m = one(Links.upRequest(7, "wg0"));
    assertEquals(Links.RTM_NEWLINK, m.type());
    assertEquals(Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK, m.flags());
    assertEquals(7, m.seq());
    ByteBuffer p = m.payload();
    assertEquals(0, p.getInt(4), "no index: the name says which link");
    assertEquals(Links.IFF_UP, p.getInt(8), "flags");
    assertEquals(Links.IFF_UP, p.getInt(12), "change: only IFF_UP");
    List<Netlink.Attr> attrs = m.attrs(Links.IFINFOMSG);
    assertEquals(1, attrs.size());
    assertEquals(Links.IFLA_IFNAME, attrs.get(0).type());
    assertEquals("wg0", attrs.get(0).string());
  }

  @Test
  void aMoveCarriesTheNamespaceTheNewNameAndTheAliasInOneRequest() {
    Netlink.Message m = one(Links.moveRequest(9, 42, 13, "wg0", "wg0123456789ab"));
    assertEquals(Links.RTM_NEWLINK, m.type());
    assertEquals(Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK, m.flags());
    assertEquals(42, m.payload().getInt(4), "the link by index: its name changes");
    assertEquals(Links.IFF_UP, m.payload().getInt(8));
    List<Netlink.Attr> attrs = m.attrs(Links.IFINFOMSG);
    assertEquals(List.of(Links.IFLA_NET_NS_FD, Links.IFLA_IFNAME, Links.IFLA_IFALIAS), attrs.stream().map(Netlink.Attr::type).toList());
    assertEquals(13, attrs.get(0).u32());
    assertEquals("wg0", attrs.get(1).string());
    assertArrayEquals("wg0123456789ab".getBytes(StandardCharsets.US_ASCII), attrs.get(2).bytes(), "the alias without a NUL, as ip sends it");
  }

  @Test
  void aDeleteNamesTheLink() {
    Netlink.Message m = one(Links.deleteRequest(3, "wg0"));
    assertEquals(Links.RTM_DELLINK, m.type());
    assertEquals(Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK, m.flags());
    assertEquals(0, m.payload().getInt(4));
    assertEquals(0, m.payload().getInt(12), "no flags changed");
    assertEquals("wg0", m.attrs(Links.IFINFOMSG).get(0).string());
  }

  @Test
  void theIndexComesFromTheLinksAnswer() {
    ByteBuffer payload = Netlink.order(ByteBuffer.allocate(Links.IFINFOMSG));
    payload.putInt(4, 5);
    assertEquals(5, Links.index(List.of(new Netlink.Message(Links.RTM_NEWLINK, 0, 1, payload))));
    assertThrows(IllegalArgumentException.class, () -> Links.index(List.of()));
  }
}
