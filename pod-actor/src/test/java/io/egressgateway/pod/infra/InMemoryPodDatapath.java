package io.egressgateway.pod.infra;

import io.egressgateway.pod.model.PodRoutes;
import io.egressgateway.pod.model.Route;
import io.egressgateway.pod.model.RouteAction;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A stateful fake of the pod datapath: pod namespaces (created by the test), the wg0 each one holds and
 * our routes in it. Operations on a namespace that does not exist fail like the real ones do.
 */
public final class InMemoryPodDatapath implements PodDatapath {

  /** The tunnel device in one pod. {@code hasPrivateKey} only records that a key was set. */
  public record Device(String alias, String endpoint, String gatewayPublicKey, boolean hasPrivateKey) {}

  /** Everything we created in one pod namespace. */
  public record Pod(Optional<Device> wg0, List<Route> routes, boolean replyMarking) {}

  private final Map<String, Pod> pods = new ConcurrentHashMap<>();
  /** The private key each pod's wg0 holds, by namespace (what {@link #resume} reads back). */
  private final Map<String, String> keys = new ConcurrentHashMap<>();
  private final Set<String> failing = ConcurrentHashMap.newKeySet();
  private final List<java.util.function.Consumer<String>> lost = new java.util.concurrent.CopyOnWriteArrayList<>();

  @Override
  public Optional<String> netnsProblem(String podNetns) {
    Optional<String> syntax = PodNetns.syntaxProblem(podNetns);
    if (syntax.isPresent()) {
      return syntax;
    }
    return pods.containsKey(podNetns) ? Optional.empty() : Optional.of("pod network namespace " + podNetns + " does not exist");
  }

  /** A pod namespace as the main plugin leaves it: eth0 only. */
  public void addNamespace(String netns) {
    pods.putIfAbsent(netns, new Pod(Optional.empty(), List.of(), false));
  }

  public void deleteNamespace(String netns) {
    pods.remove(netns);
    keys.remove(netns);
  }

  /** Makes operations on {@code netns} fail (e.g. a broken wireguard-go binary). */
  public void failing(String netns, boolean value) {
    if (value) {
      failing.add(netns);
    } else {
      failing.remove(netns);
    }
  }

  private final Set<String> routesFailing = ConcurrentHashMap.newKeySet();

  /**
   * Makes route changes in {@code netns} fail while everything else works, as when the runtime removed the
   * pod's eth0 during an ADD (a step after the device was made fails).
   */
  public void routesFailing(String netns, boolean value) {
    if (value) {
      routesFailing.add(netns);
    } else {
      routesFailing.remove(netns);
    }
  }

  public Optional<Pod> pod(String netns) {
    return Optional.ofNullable(pods.get(netns));
  }

  @Override
  public void prepare(Attachment a, String privateKey) {
    Pod p = existing(a.podNetns());
    if (p.wg0().isPresent() && !p.wg0().get().alias().equals(a.deviceName())) {
      throw new IllegalStateException("pod " + a.podNetns() + " already has a wg0 (" + p.wg0().get().alias() + ")");
    }
    Device d = new Device(a.deviceName(), "", "", privateKey != null && !privateKey.isEmpty());
    pods.put(a.podNetns(), new Pod(Optional.of(d), p.routes(), p.replyMarking()));
    if (d.hasPrivateKey()) {
      keys.put(a.podNetns(), privateKey);
    }
  }

  @Override
  public Resumption resume(Attachment a) {
    Pod p = pods.get(a.podNetns());
    if (p == null) {
      return Resumption.GONE;
    }
    if (failing.contains(a.podNetns())) {
      throw new IllegalStateException("datapath operation failed in " + a.podNetns());
    }
    return p.wg0().filter(d -> d.alias().equals(a.deviceName()))
        .map(d -> new Resumption(Optional.ofNullable(keys.get(a.podNetns())), false))
        .orElse(Resumption.NO_DEVICE);
  }

  @Override
  public void connect(Attachment a) {
    Pod p = existing(a.podNetns());
    Device d = p.wg0().filter(w -> w.alias().equals(a.deviceName()))
        .orElseThrow(() -> new IllegalStateException("pod " + a.podNetns() + " has no prepared device " + a.deviceName()));
    pods.put(a.podNetns(), new Pod(Optional.of(new Device(d.alias(), a.gatewayEndpoint(), a.gatewayPublicKey(),
        d.hasPrivateKey())), p.routes(), p.replyMarking()));
  }

  @Override
  public void follow(Attachment a, List<Route> desired, String previousEndpoint) {
    Pod p = existing(a.podNetns());
    Device d = p.wg0().filter(w -> w.alias().equals(a.deviceName()))
        .orElseThrow(() -> new IllegalStateException("pod " + a.podNetns() + " has no wg0 of tunnel " + a.deviceName()));
    follows.incrementAndGet();
    pods.put(a.podNetns(), new Pod(Optional.of(new Device(d.alias(), a.gatewayEndpoint(), a.gatewayPublicKey(),
        d.hasPrivateKey())), p.routes(), p.replyMarking()));
    applyRoutes(a.podNetns(), desired);
  }

  private final java.util.concurrent.atomic.AtomicInteger follows = new java.util.concurrent.atomic.AtomicInteger();

  /** How many times a running tunnel was brought to a changed configuration ({@link #follow}). */
  public int follows() {
    return follows.get();
  }

  @Override
  public void applyRoutes(String podNetns, List<Route> desired) {
    Pod p = existing(podNetns);
    if (routesFailing.contains(podNetns)) {
      throw new IllegalStateException("sysctl: cannot stat /proc/sys/net/ipv4/conf/eth0/rp_filter: No such file or directory");
    }
    List<Route> routes = new ArrayList<>(p.routes());
    for (RouteAction a : PodRoutes.plan(desired, p.routes())) {
      routes.removeIf(r -> r.dst().equals(a.route().dst()) && r.table() == a.route().table());
      if (a instanceof RouteAction.Replace) {
        if (a.route().dev().equals("wg0") && p.wg0().isEmpty()) {
          throw new IllegalStateException("Cannot find device \"wg0\"");
        }
        routes.add(a.route());
      }
    }
    pods.put(podNetns, new Pod(p.wg0(), List.copyOf(routes), true));
  }

  @Override
  public void detach(String podNetns, String deviceName) {
    Pod p = pods.get(podNetns);
    if (p == null) {
      return;
    }
    if (failing.contains(podNetns)) {
      throw new IllegalStateException("detach failed in " + podNetns);
    }
    if (p.wg0().isPresent() && p.wg0().get().alias().equals(deviceName)) {
      pods.put(podNetns, new Pod(Optional.empty(), List.of(), false));
      keys.remove(podNetns);
    }
  }

  @Override
  public void restoreDefault(String podNetns, String eth0Gateway) {
    Pod p = existing(podNetns);
    if (p.wg0().isPresent()) {
      throw new IllegalStateException("the pod still has wg0");
    }
    List<Route> routes = new ArrayList<>(p.routes());
    routes.removeIf(r -> r.dst().equals("0.0.0.0/0") && r.table() == Route.MAIN);
    routes.add(Route.main("0.0.0.0/0", eth0Gateway, "eth0"));
    pods.put(podNetns, new Pod(p.wg0(), List.copyOf(routes), p.replyMarking()));
  }

  /** A device's process dies: wg0 and the routes through it vanish, as with a real wireguard-go exit. */
  public void kill(String netns) {
    Pod p = existing(netns);
    p.wg0().ifPresent(d -> {
      pods.put(netns, new Pod(Optional.empty(), p.routes().stream().filter(r -> !r.dev().equals("wg0")).toList(), p.replyMarking()));
      keys.remove(netns);
      lost.forEach(l -> l.accept(d.alias()));
    });
  }

  @Override
  public void onTunnelLost(java.util.function.Consumer<String> listener) {
    lost.add(listener);
  }

  /** Drops the registered listeners, as when the agent that registered them ends. */
  public void forgetListeners() {
    lost.clear();
  }

  @Override
  public Optional<String> tunnelDevice(String podNetns) {
    return pod(podNetns).flatMap(Pod::wg0).map(Device::alias);
  }

  private Pod existing(String netns) {
    if (failing.contains(netns)) {
      throw new IllegalStateException("datapath operation failed in " + netns);
    }
    Pod p = pods.get(netns);
    if (p == null) {
      throw new IllegalStateException("network namespace " + netns + " does not exist");
    }
    return p;
  }
}
