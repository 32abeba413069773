package io.egressgateway.gateway.bench;

import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.net.Net;
import io.egressgateway.datapath.wireguard.GoWireGuard;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.datapath.wireguard.WireGuardBackend;
import io.egressgateway.datapath.wireguard.WireGuardBackends;
import io.egressgateway.gateway.infra.LinuxGatewayDatapath;
import io.egressgateway.gateway.model.ConfigDatapath;
import io.egressgateway.gateway.model.GatewayNames;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * Peer-programming costs of the real gateway executor, printed as a markdown table. Needs root; works in
 * namespaces of its own and removes them. Not a test: nothing is asserted.
 *
 * <pre>
 * mvn -q -o -pl gateway-actor test-compile exec:java -Dexec.classpathScope=test \
 *   -Dexec.mainClass=io.egressgateway.gateway.bench.PeerBenchmark [-Dexec.args="10000 100"]
 * </pre>
 */
public final class PeerBenchmark {
  private PeerBenchmark() {}

  public static void main(String[] args) {
    int peers = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
    int samples = args.length > 1 ? Integer.parseInt(args[1]) : 100;
    CommandRunner cmd = new CommandRunner(java.time.Duration.ofSeconds(120));
    String sfx = UUID.randomUUID().toString().substring(0, 6);
    String host = "egwb-host-" + sfx;
    String uid = "bench-" + sfx;
    WireGuardBackend wg = WireGuardBackends.choose(cmd, "auto");
    LinuxGatewayDatapath dp = new LinuxGatewayDatapath(cmd, wg, new GatewayNames(host, "egwb-" + sfx + "-"), host, 2, "eth0");
    String priv = WgKeys.generate().privateKey();
    Map<String, String> many = new HashMap<>();
    for (int i = 0; i < peers; i++) {
      many.put(WgKeys.generate().publicKey(), "10." + (64 + i / 65536) + "." + (i / 256 % 256) + "." + (i % 256) + "/32");
    }
    ConfigDatapath empty = new ConfigDatapath(uid, 6000, "10.224.0.5", "10.224.0.15", "", "", "k", Map.of());
    List<String> rows = new ArrayList<>();
    try {
      Net.ensureNetns(cmd, host);
      rows.add(row("program a config (namespace, veth, routes, SNAT, device), 0 peers", time(() -> dp.program(empty, priv))));
      rows.add(stats("single peer add at 0 peers (`wg set`)", singleAdds(dp, uid, samples)));
      rows.add(row("bulk restore of " + peers + " peers into a fresh datapath (program: device + `wg setconf`)",
          time(() -> {
            dp.remove(uid);
            dp.program(empty.withPeers(many), priv);
          })));
      rows.add(row("observe one config with " + peers + " peers (`wg show dump` + links, routes, nft)",
          time(() -> dp.observe(uid))));
      rows.add(stats("single peer add at " + peers + " peers (`wg set`)", singleAdds(dp, uid, samples)));
      Map<String, String> plusOne = new HashMap<>(many);
      plusOne.put(WgKeys.generate().publicKey(), "10.99.0.1/32");
      rows.add(row("bulk sync " + peers + " -> " + (peers + 1) + " peers (`wg syncconf`)",
          time(() -> dp.syncPeers(empty.withPeers(plusOne), priv))));
      rows.add(row("bulk sync 0 -> " + peers + " peers on a live device (`wg syncconf`)", time(() -> {
        dp.syncPeers(empty, priv);
        return null;
      }, () -> dp.syncPeers(empty.withPeers(many), priv))));
    } finally {
      dp.remove(uid);
      Net.deleteNetns(cmd, host);
    }
    System.out.println();
    System.out.println("WireGuard backend: " + wg.kind() + ", " + Runtime.getRuntime().availableProcessors() + " CPUs");
    System.out.println();
    System.out.println("| operation | result |");
    System.out.println("|---|---|");
    rows.forEach(System.out::println);
  }

  private static long[] singleAdds(LinuxGatewayDatapath dp, String uid, int samples) {
    long[] ns = new long[samples];
    for (int i = 0; i < samples; i++) {
      String k = WgKeys.generate().publicKey();
      long t0 = System.nanoTime();
      dp.addPeer(uid, k, "10.98." + (i / 256) + "." + (i % 256) + "/32");
      ns[i] = System.nanoTime() - t0;
      dp.removePeer(uid, k);
    }
    return ns;
  }

  private static long time(Runnable r) {
    long t0 = System.nanoTime();
    r.run();
    return System.nanoTime() - t0;
  }

  private static long time(Supplier<?> prepare, Runnable r) {
    prepare.get();
    return time(r);
  }

  private static long time(Supplier<?> s) {
    long t0 = System.nanoTime();
    s.get();
    return System.nanoTime() - t0;
  }

  private static String row(String what, long nanos) {
    return "| " + what + " | " + ms(nanos) + " |";
  }

  private static String stats(String what, long[] nanos) {
    long[] s = nanos.clone();
    Arrays.sort(s);
    return "| " + what + " | median " + ms(s[s.length / 2]) + ", p90 " + ms(s[(int) (s.length * 0.9)]) + ", max "
        + ms(s[s.length - 1]) + " (n=" + s.length + ") |";
  }

  private static String ms(long nanos) {
    return String.format("%.1f ms", nanos / 1e6);
  }
}
