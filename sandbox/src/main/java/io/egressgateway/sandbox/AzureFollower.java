package io.egressgateway.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import io.egressgateway.armsim.ArmSimulator;
import io.egressgateway.datapath.command.CommandRunner;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the VNet stand-in behave like the Azure resources the ARM simulator holds (looked at every half
 * second):
 *
 * <ul>
 *   <li>each secondary ipConfig of a gateway NIC is routed to its VM;
 *   <li>each secondary ipConfig with a public IP from a prefix leaves the VNet as that public IP (addresses
 *       of a prefix go to the instances in instance order);
 *   <li>each load-balancing rule gets its own policy-routing table (selected by UDP destination port) whose
 *       route to the frontend IP spans the backends whose health probe answers 200, probed from the router
 *       with the rule's own probe, like Azure's LB probes: every {@code intervalInSeconds} of the probe (what
 *       the pool entity gives Azure: 5 s), a backend changing state after {@code probeThreshold} (or
 *       {@code numberOfProbes}) results in a row; a faster interval only when asked for ({@code probeEvery}).
 *       An HTTP probe fails on any answer but 200 at once, and on no answer within the shorter of its interval
 *       and 30 s, as Azure's do ({@link #probeTimeoutMs}); every backend of every due rule is probed at the
 *       same time, so one that does not answer delays no other verdict. A flow stays on the backend it was
 *       sent to while that backend is healthy ({@link AzureVnet#setIlbFlows}).
 * </ul>
 */
public final class AzureFollower implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AzureFollower.class);
  private static final int TABLE_BASE = 100000;

  /** One load-balancing rule as the router applies it. */
  public record Rule(String frontendIp, int port, String probePath, int probePort, List<String> backends,
      long intervalMs, int threshold) {}

  /** Azure's defaults for a probe that does not say (intervalInSeconds 15; probeThreshold 1). */
  static final int DEFAULT_INTERVAL_SECONDS = 15;

  private final ArmSimulator arm;
  private final AzureVnet vnet;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "azure-follower");
    t.setDaemon(true);
    return t;
  });
  /** Runs the probes of one round side by side. */
  private final java.util.concurrent.ExecutorService probes = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "azure-follower-probe");
    t.setDaemon(true);
    return t;
  });
  private final Map<Integer, List<String>> appliedBackends = new HashMap<>();
  private final Set<Integer> rulesInstalled = new TreeSet<>();
  private volatile Map<String, String> publicBySecondary = Map.of();
  private volatile Map<String, String> nodeBySecondary = Map.of();
  private volatile Map<Integer, List<String>> healthy = Map.of();
  private Map<String, String> appliedPublic = Map.of();
  private final Set<String> routedSecondaries = new TreeSet<>();
  /** Probe interval for every rule instead of the probe's own; null: the probe's (as Azure). */
  private final java.time.Duration probeEvery;
  /** Per rule port: when its backends were last probed (monotonic ns). */
  private final Map<Integer, Long> probedAt = new HashMap<>();
  /** Per {@code port/backend}: the probe's verdict and the opposite results in a row since. */
  private final Map<String, Boolean> verdict = new HashMap<>();
  private final Map<String, Integer> streak = new HashMap<>();
  private volatile long probeIntervalMs;

  public AzureFollower(ArmSimulator arm, AzureVnet vnet) {
    this(arm, vnet, null);
  }

  /** @param probeEvery probe every this long instead of what each load balancer's probe says; null: as it says */
  public AzureFollower(ArmSimulator arm, AzureVnet vnet, java.time.Duration probeEvery) {
    this.arm = arm;
    this.vnet = vnet;
    this.probeEvery = probeEvery;
  }

  public void start() {
    long every = probeEvery == null ? 500 : Math.min(500, probeEvery.toMillis());
    timer.scheduleWithFixedDelay(this::safeTick, 0, every, TimeUnit.MILLISECONDS);
  }

  /** The interval the ILB stand-in probes at (the longest of its rules'); 0 before any rule. */
  public long probeIntervalMs() {
    return probeIntervalMs;
  }

  /** Secondary IP → public IP, as the edge currently maps them. */
  public Map<String, String> publicIps() {
    return publicBySecondary;
  }

  /** Secondary IP → the gateway node (computer name) that holds it. */
  public Map<String, String> nodesBySecondary() {
    return nodeBySecondary;
  }

  /** Healthy backend primary IPs per rule port. */
  public Map<Integer, List<String>> healthyBackends() {
    return healthy;
  }

  private void safeTick() {
    try {
      tick();
    } catch (RuntimeException e) {
      log.warn("azure follower: {}", e.getMessage());
    }
  }

  synchronized void tick() {
    Map<String, JsonNode> vmById = new HashMap<>();
    arm.resources("Microsoft.Compute/virtualMachineScaleSets/virtualMachines").forEach(vm -> vmById.put(vm.path("id").asText().toLowerCase(), vm));
    Map<String, List<String>> backendsByPool = new HashMap<>();
    Map<String, String> secToPrimary = new TreeMap<>();
    Map<String, String> secToNode = new TreeMap<>();
    Map<String, List<String[]>> prefixUsers = new TreeMap<>(); // prefix id -> [instance order key, secondary]
    for (JsonNode nic : arm.resources("Microsoft.Network/networkInterfaces")) {
      JsonNode vm = vmById.get(nic.path("properties").path("virtualMachine").path("id").asText().toLowerCase());
      String computer = vm == null ? "" : vm.path("properties").path("osProfile").path("computerName").asText();
      String primary = null;
      for (JsonNode ipc : nic.path("properties").path("ipConfigurations")) {
        if (ipc.path("properties").path("primary").asBoolean(false)) {
          primary = ipc.path("properties").path("privateIPAddress").asText();
        }
      }
      if (primary == null) {
        continue;
      }
      for (JsonNode ipc : nic.path("properties").path("ipConfigurations")) {
        JsonNode p = ipc.path("properties");
        String ip = p.path("privateIPAddress").asText();
        for (JsonNode pool : p.path("loadBalancerBackendAddressPools")) {
          backendsByPool.computeIfAbsent(pool.path("id").asText().toLowerCase(), k -> new ArrayList<>()).add(primary);
        }
        if (!p.path("primary").asBoolean(false)) {
          secToPrimary.put(ip, primary);
          secToNode.put(ip, computer);
          String prefix = p.path("publicIPAddress").path("properties").path("publicIPPrefix").path("id").asText("");
          if (!prefix.isEmpty()) {
            prefixUsers.computeIfAbsent(prefix.toLowerCase(), k -> new ArrayList<>())
                .add(new String[] {vm == null ? nic.path("id").asText() : vm.path("instanceId").asText(), ip});
          }
        }
      }
    }
    // public IPs: the prefix's addresses in instance order
    Map<String, String> pub = new TreeMap<>();
    for (JsonNode prefix : arm.resources("Microsoft.Network/publicIPPrefixes")) {
      List<String[]> users = prefixUsers.getOrDefault(prefix.path("id").asText().toLowerCase(), List.of());
      String cidr = prefix.path("properties").path("ipPrefix").asText("");
      if (cidr.isEmpty()) {
        continue;
      }
      List<String[]> sorted = new ArrayList<>(users);
      sorted.sort(Comparator.comparing((String[] u) -> u[0]));
      long base = toLong(cidr.split("/")[0]);
      for (int i = 0; i < sorted.size(); i++) {
        pub.put(sorted.get(i)[1], toIp(base + i));
      }
    }
    for (var e : secToPrimary.entrySet()) {
      if (routedSecondaries.add(e.getKey() + ">" + e.getValue())) {
        vnet.routeSecondaryIp(e.getKey(), e.getValue());
      }
    }
    if (!pub.equals(appliedPublic)) {
      vnet.setPublicIps(pub);
      appliedPublic = pub;
      log.info("edge NAT: {}", pub);
    }
    publicBySecondary = Map.copyOf(pub);
    nodeBySecondary = Map.copyOf(secToNode);

    // load-balancing rules, each with its probe, routed by UDP destination port
    Map<Integer, List<String>> nowHealthy = new TreeMap<>(healthy);
    long now = System.nanoTime();
    long longest = 0;
    List<Rule> rules = rules(backendsByPool);
    nowHealthy.keySet().retainAll(rules.stream().map(Rule::port).toList());
    List<Rule> due = new ArrayList<>();
    for (Rule r : rules) {
      long interval = intervalMs(r);
      longest = Math.max(longest, interval);
      Long last = probedAt.get(r.port());
      boolean known = r.backends().stream().allMatch(b -> verdict.containsKey(r.port() + "/" + b));
      if (last != null && known && now - last < interval * 1_000_000) {
        continue; // not due; a backend new to the rule is probed at once (Azure probes it before using it)
      }
      probedAt.put(r.port(), now);
      due.add(r);
    }
    // the due rules' probes all at once (Azure probes each backend on its own), then their verdicts in order
    Map<String, java.util.concurrent.CompletableFuture<ProbeResult>> results = new HashMap<>();
    for (Rule r : due) {
      long timeout = probeTimeoutMs(intervalMs(r));
      r.backends().stream().distinct().forEach(b -> results.computeIfAbsent(r.port() + "/" + b,
          k -> java.util.concurrent.CompletableFuture.supplyAsync(() -> probe(b, r.probePort(), r.probePath(), timeout), probes)));
    }
    for (Rule r : due) {
      List<String> ok = r.backends().stream().distinct().sorted()
          .filter(b -> judge(r.port() + "/" + b, results.get(r.port() + "/" + b).join(), r.threshold())).toList();
      nowHealthy.put(r.port(), ok);
      int table = TABLE_BASE + r.port();
      if (rulesInstalled.add(r.port())) {
        Sh.must("ip", "-n", vnet.routerNs(), "rule", "add", "ipproto", "udp", "dport", Integer.toString(r.port()),
            "lookup", Integer.toString(table), "priority", Integer.toString(1000 + r.port() % 1000));
      }
      if (!Objects.equals(appliedBackends.get(r.port()), ok)) {
        vnet.setIlbBackends(r.frontendIp(), ok, table);
        appliedBackends.put(r.port(), ok);
        log.info("ILB {}:{} -> {}", r.frontendIp(), r.port(), ok);
      }
    }
    // flows stay on their backend while it is healthy (Azure's stickiness); rewritten when any rule's set changed
    Map<AzureVnet.IlbRule, List<String>> flows = new HashMap<>();
    rules.forEach(r -> flows.put(new AzureVnet.IlbRule(r.frontendIp(), r.port()), appliedBackends.getOrDefault(r.port(), List.of())));
    if (!flows.equals(appliedFlows)) {
      vnet.setIlbFlows(flows);
      appliedFlows = Map.copyOf(flows);
    }
    healthy = Map.copyOf(nowHealthy);
    probeIntervalMs = longest;
  }

  private Map<AzureVnet.IlbRule, List<String>> appliedFlows = Map.of();

  /** One probe's outcome: {@code code} the HTTP status ("000": no answer in time), {@code ms} how long it took. */
  record ProbeResult(String code, long ms) {
    boolean up() {
      return code.equals("200");
    }
  }

  /** How often rule {@code r}'s backends are probed: as its probe says, or {@code probeEvery} when given. */
  private long intervalMs(Rule r) {
    return probeEvery != null ? probeEvery.toMillis() : r.intervalMs();
  }

  /**
   * How long a probe waits for an answer: the shorter of the probe's interval and 30 s, as Azure's HTTP probes
   * do (a probe that does not answer within it fails; any answer but 200 fails at once).
   */
  static long probeTimeoutMs(long intervalMs) {
    return Math.max(100, Math.min(intervalMs, 30_000));
  }

  /** A backend's verdict after one more probe result (logged with its reason when it turns down). */
  private boolean judge(String key, ProbeResult result, int threshold) {
    boolean was = verdict.getOrDefault(key, true);
    boolean now = judge(key, result.up(), threshold);
    if (was && !now) {
      log.info("ILB probe {}: {} after {} ms: down", key, result.code().equals("000") ? "no answer" : "HTTP " + result.code(), result.ms());
    }
    return now;
  }

  /** A backend's verdict after one more probe result: it changes after {@code threshold} opposite results in a row. */
  boolean judge(String key, boolean result, int threshold) {
    Boolean was = verdict.get(key);
    if (was == null || was == result) {
      verdict.put(key, result);
      streak.put(key, 0);
      return result;
    }
    int n = streak.merge(key, 1, Integer::sum);
    if (n >= Math.max(1, threshold)) {
      verdict.put(key, result);
      streak.put(key, 0);
      return result;
    }
    return was;
  }

  private List<Rule> rules(Map<String, List<String>> backendsByPool) {
    List<Rule> out = new ArrayList<>();
    for (JsonNode lb : arm.resources("Microsoft.Network/loadBalancers")) {
      out.addAll(rulesOf(lb, backendsByPool));
    }
    return out;
  }

  /** The load-balancing rules of the load balancer {@code lb} (ARM JSON), each with its probe's settings. */
  static List<Rule> rulesOf(JsonNode lb, Map<String, List<String>> backendsByPool) {
    List<Rule> out = new ArrayList<>();
    Map<String, String> frontendIp = new LinkedHashMap<>();
    for (JsonNode f : lb.path("properties").path("frontendIPConfigurations")) {
      frontendIp.put(f.path("id").asText().toLowerCase(), f.path("properties").path("privateIPAddress").asText());
    }
    Map<String, JsonNode> probes = new HashMap<>();
    for (JsonNode p : lb.path("properties").path("probes")) {
      probes.put(p.path("id").asText().toLowerCase(), p);
    }
    for (JsonNode rule : lb.path("properties").path("loadBalancingRules")) {
      JsonNode p = rule.path("properties");
      JsonNode probe = probes.get(p.path("probe").path("id").asText().toLowerCase());
      String fip = frontendIp.get(p.path("frontendIPConfiguration").path("id").asText().toLowerCase());
      if (probe == null || fip == null) {
        continue;
      }
      List<String> backends = backendsByPool.getOrDefault(p.path("backendAddressPool").path("id").asText().toLowerCase(), List.of());
      JsonNode pp = probe.path("properties");
      int threshold = pp.path("probeThreshold").asInt(pp.path("numberOfProbes").asInt(1));
      out.add(new Rule(fip, p.path("frontendPort").asInt(), pp.path("requestPath").asText("/"),
          pp.path("port").asInt(), backends, 1000L * pp.path("intervalInSeconds").asInt(DEFAULT_INTERVAL_SECONDS), threshold));
    }
    return out;
  }

  private ProbeResult probe(String backend, int port, String path, long timeoutMs) {
    long t0 = System.nanoTime();
    CommandRunner.Result r = vnet.inRouter("curl", "-s", "-o", "/dev/null", "-m", String.format(java.util.Locale.ROOT, "%.1f", timeoutMs / 1000.0),
        "-w", "%{http_code}", "http://" + backend + ":" + port + path);
    String code = r.stdout().trim();
    return new ProbeResult(code.isEmpty() ? "000" : code, (System.nanoTime() - t0) / 1_000_000);
  }

  private static long toLong(String ip) {
    long v = 0;
    for (String p : ip.split("\\.")) {
      v = v << 8 | Integer.parseInt(p);
    }
    return v;
  }

  private static String toIp(long v) {
    return ((v >> 24) & 255) + "." + ((v >> 16) & 255) + "." + ((v >> 8) & 255) + "." + (v & 255);
  }

  @Override
  public void close() {
    timer.shutdownNow();
    probes.shutdownNow();
  }
}
