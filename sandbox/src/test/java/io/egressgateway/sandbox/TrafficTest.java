package io.egressgateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The sandbox's traffic measure with real packets: a probe process in a VM's namespace reaches the internet echo
 * twenty times a second; a packets dropped on the way show as failed requests in the cut's time and nowhere else; closing it ends
 * the probe.
 */
@Tag("privileged")
class TrafficTest {

  @Test
  void requestsFailOnlyWhilePacketsAreDroppedAndTheProbeEndsWithIt() {
    Privileged.require("ip", "nft", "socat", "setsid");
    NetLab lab = new NetLab("t" + Integer.toString(ThreadLocalRandom.current().nextInt(1296, 46655), 36));
    try {
      AzureVnet vnet = new AzureVnet(lab);
      String w1 = vnet.addVm("w1", "10.224.0.4");
      Traffic t;
      long t0;
      long cutFrom;
      long cutTo;
      try (Traffic traffic = new Traffic(w1)) {
        t = traffic;
        t0 = System.nanoTime();
        Sh.sleep(2_000);
        cutFrom = System.nanoTime();
        Sh.mustWithInput(w1, "table inet cut {\n chain output {\n  type filter hook output priority 0;\n  ip daddr "
            + AzureVnet.ECHO_IP + " drop\n }\n}\n", "nft", "-f", "-");
        Sh.sleep(1_500);
        Sh.mustIn(w1, "nft", "delete", "table", "inet", "cut");
        cutTo = System.nanoTime();
        Sh.sleep(3_000);
      }
      long t1 = System.nanoTime();
      assertFalse(t.probing(), "the probe ended with close()");
      long before = t.started(t0, cutFrom);
      assertTrue(before >= 20, "about 40 requests in 2 s, got " + before);
      assertEquals(0, t.failed(t0, cutFrom), "no failure before the cut");
      assertEquals(List.of(AzureVnet.DEFAULT_OUTBOUND_IP), t.seenBetween(t0, cutFrom), "the echo saw the VNet's outbound address");
      assertTrue(t.failed(cutFrom, cutTo) >= 10, "requests started while packets were dropped failed: " + t.failed(cutFrom, cutTo));
      // requests started 1 s before the drop ended can still be answered after it; later ones must be
      long settled = cutTo + 1_000_000_000L;
      assertEquals(0, t.failed(settled, t1), "no failure once packets pass again");
      assertTrue(t.started(settled, t1) >= 20, "requests went on after the cut");
      List<long[]> spans = t.failureSpans(t0, t1);
      assertFalse(spans.isEmpty());
      long cutFromMs = (cutFrom - t0) / 1_000_000;
      long cutToMs = (cutTo - t0) / 1_000_000;
      for (long[] span : spans) {
        assertTrue(span[0] >= cutFromMs - 1_000 && span[1] <= cutToMs, "failures only around the cut: " + span[0] + "-" + span[1]
            + " ms, cut " + cutFromMs + "-" + cutToMs + " ms");
      }
    } finally {
      lab.close();
    }
    assertTrue(lab.existingNamespaces().isEmpty(), "namespaces left: " + lab.existingNamespaces());
  }
}
