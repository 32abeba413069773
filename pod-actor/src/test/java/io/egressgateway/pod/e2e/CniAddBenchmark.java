package io.egressgateway.pod.e2e;

import io.egressgateway.cnichain.CniChain;
import io.egressgateway.core.view.ConfigView;
import io.egressgateway.pod.model.PodInfo;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * CNI ADD latency for N pods (default 100) through the real chain on the {@link Topology}: ptp +
 * host-local, then kube-egress-cni (a fresh JVM per call, through the launcher) and the node agent
 * (gateway peers on both gateways, wireguard-go device, routes). Pods are added one after another; then
 * the first and last pod's egress is checked and all are deleted. Needs root. Prints the distribution.
 *
 * <pre>mvn -B -q -pl pod-actor test-compile exec:java -Dexec.classpathScope=test \
 *   -Dexec.mainClass=io.egressgateway.pod.e2e.CniAddBenchmark -Dexec.args=100</pre>
 */
public final class CniAddBenchmark {
  private CniAddBenchmark() {}

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    List<Long> chainMs = new ArrayList<>();
    List<Long> ourMs = new ArrayList<>();
    List<Long> delMs = new ArrayList<>();
    try (Topology t = new Topology(ConfigView.DEFAULT_ROUTE_GATEWAY)) {
      List<String[]> pods = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String name = "b" + i;
        t.directory.put(new PodInfo("default", name, "uid-" + name, Map.of(PodInfo.GATEWAY_ANNOTATION, "egw")));
        String ns = t.lab.ns(name);
        String cid = UUID.randomUUID().toString().replace("-", "");
        String cniArgs = "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=" + name + ";K8S_POD_UID=uid-" + name;
        long t0 = System.nanoTime();
        CniChain.Outcome add = t.chain.add(cid, "/var/run/netns/" + ns, "eth0", cniArgs);
        chainMs.add((System.nanoTime() - t0) / 1_000_000);
        if (!add.ok()) {
          throw new IllegalStateException("ADD " + i + " failed in " + add.plugin() + ": " + add.error());
        }
        ourMs.add(add.millis().get("kube-egress-cni"));
        pods.add(new String[] {ns, cid, cniArgs});
      }
      for (String[] p : List.of(pods.get(0), pods.get(pods.size() - 1))) {
        String seen = t.curl(p[0], Topology.ECHO, 2).stdout().trim();
        if (!seen.startsWith("203.0.113.1")) {
          throw new IllegalStateException("pod " + p[0] + " does not egress through a gateway: '" + seen + "'");
        }
      }
      int peers = t.wg.dump(t.gatewayDevices.get("gw1")).peers().size();
      for (String[] p : pods) {
        long t0 = System.nanoTime();
        CniChain.Outcome del = t.chain.del(p[1], "/var/run/netns/" + p[0], "eth0", p[2]);
        delMs.add((System.nanoTime() - t0) / 1_000_000);
        if (!del.ok()) {
          throw new IllegalStateException("DEL failed in " + del.plugin() + ": " + del.error());
        }
      }
      System.out.printf("backend %s, %d pods, gateway peers after ADDs: %d%n", t.wg.kind(), n, peers);
    }
    print("CNI chain ADD (ptp + kube-egress-cni)", chainMs);
    print("kube-egress-cni ADD alone (JVM start + agent)", ourMs);
    print("CNI chain DEL", delMs);
  }

  private static void print(String what, List<Long> ms) {
    List<Long> s = new ArrayList<>(ms);
    Collections.sort(s);
    System.out.printf("%-46s n=%d  p50 %d ms  p90 %d ms  p99 %d ms  max %d ms%n", what, s.size(),
        pct(s, 50), pct(s, 90), pct(s, 99), s.get(s.size() - 1));
  }

  private static long pct(List<Long> sorted, int p) {
    int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
  }
}
