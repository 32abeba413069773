package io.egressgateway.gateway.infra;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.HostileValues;
import io.egressgateway.datapath.wireguard.KernelWireGuard;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.gateway.model.ConfigDatapath;
import io.egressgateway.gateway.model.GatewayNames;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Every value of the replicated view or of a worker's message that the gateway's executor turns into a
 * command (addresses, port, pod keys, allowed IPs, frontends, uids) is parsed there, before the first
 * command: a hostile one fails the call and nothing runs. No command is ever started by this test (the
 * executor's first command would need root and namespaces); a refusal before it is the point.
 */
class HostileGatewayValuesTest {
  private static final String KEY = WgKeys.generate().publicKey();
  private static final String PRIVATE = WgKeys.generate().privateKey();
  private final CommandRunner cmd = new CommandRunner();
  private final LinuxGatewayDatapath dp = new LinuxGatewayDatapath(cmd, new KernelWireGuard(cmd),
      new GatewayNames("gw1", "egwt-cfg-"), "", 0, "eth0");

  private static ConfigDatapath config(String primary, String secondary, Map<String, String> peers) {
    return new ConfigDatapath("abc-123", 6000, primary, secondary, "10.224.0.100", KEY, "sgw-abc", peers);
  }

  /** One field at a time, hostile; the call must fail with IllegalArgumentException before any command. */
  private static List<Consumer<LinuxGatewayDatapath>> hostileCalls() {
    List<Consumer<LinuxGatewayDatapath>> calls = new ArrayList<>();
    for (String bad : HostileValues.around("10.224.0.15")) {
      calls.add(d -> d.program(config("10.224.0.5", bad, Map.of()), PRIVATE));
      calls.add(d -> d.program(config(bad, "10.224.0.15", Map.of()), PRIVATE));
      calls.add(d -> d.addFrontend(bad));
      calls.add(d -> d.removeFrontend(bad));
    }
    for (String bad : HostileValues.around("10.244.1.5/32")) {
      calls.add(d -> d.addPeer("abc-123", KEY, bad));
      calls.add(d -> d.addPeers("abc-123", new LinkedHashMap<>(Map.of(KEY, bad))));
    }
    for (String bad : HostileValues.around(KEY)) {
      calls.add(d -> d.addPeer("abc-123", bad, "10.244.1.5/32"));
      calls.add(d -> d.addPeers("abc-123", new LinkedHashMap<>(Map.of(bad, "10.244.1.5/32"))));
      calls.add(d -> d.removePeer("abc-123", bad));
    }
    for (String bad : HostileValues.around("abc-123")) {
      calls.add(d -> d.removePeer(bad, KEY));
      calls.add(d -> d.addPeer(bad, KEY, "10.244.1.5/32"));
      calls.add(d -> d.program(new ConfigDatapath(bad, 6000, "10.224.0.5", "10.224.0.15", "", KEY, "s", Map.of()), PRIVATE));
    }
    for (int port : List.of(0, -1, 65536)) {
      calls.add(d -> d.program(new ConfigDatapath("abc-123", port, "10.224.0.5", "10.224.0.15", "", KEY, "s", Map.of()), PRIVATE));
    }
    return calls;
  }

  @Test
  void hostileValuesAreRefusedBeforeAnyCommand() {
    int n = 0;
    for (Consumer<LinuxGatewayDatapath> call : hostileCalls()) {
      assertThrows(IllegalArgumentException.class, () -> call.accept(dp), "call #" + n);
      n++;
    }
    assertTrue(n > 100, n + " calls");
  }

  @Test
  void hostNatDeletesOnlyRulesWhoseCommentIsExactlyTheMarker() {
    assertTrue(HostNat.ours(HostNat.tokens("-s 10.224.0.15/32 -m comment --comment \"egress-gateway:ab\" -j ACCEPT"),
        "egress-gateway:ab"));
    assertFalse(HostNat.ours(HostNat.tokens("-s 10.224.0.15/32 -m comment --comment \"egress-gateway:abc\" -j ACCEPT"),
        "egress-gateway:ab"), "the marker of uid ab is inside that of abc");
    assertFalse(HostNat.ours(HostNat.tokens("-s 10.0.0.1/32 -m comment --comment \"x egress-gateway:ab\" -j ACCEPT"),
        "egress-gateway:ab"));
    HostNat nat = new HostNat(cmd, "");
    for (String bad : HostileValues.around("abc-123")) {
      assertThrows(IllegalArgumentException.class, () -> nat.remove(bad), bad);
    }
  }
}
