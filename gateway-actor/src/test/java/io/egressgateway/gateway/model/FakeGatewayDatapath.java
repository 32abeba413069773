package io.egressgateway.gateway.model;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stateful in-memory gateway datapath: namespaces with their device, addresses and peers, as the real
 * executor would leave them. Tests break it (kill a device, wipe everything) and assert its final state.
 * Thread-safe (the entity calls it from its blocking dispatcher).
 */
public class FakeGatewayDatapath implements GatewayDatapath {
  /** One namespace. The public key is derived like WireGuard does, so key mismatches show. */
  public static final class Ns {
    public String hostIp = "";
    public String via = "";
    public boolean deviceAlive;
    public int port;
    public String publicKey = "";
    public final Map<String, String> peers = new HashMap<>();
    /** What {@link #sample} reports per peer (public key): latest handshake, rx, tx; absent = zeros. */
    public final Map<String, long[]> counters = new java.util.concurrent.ConcurrentHashMap<>();
    public volatile long dropped;
    public volatile long conntrack;
  }

  private final Map<String, Ns> namespaces = new HashMap<>();
  private final java.util.Set<String> frontends = new java.util.TreeSet<>();
  public final AtomicInteger bulkLoads = new AtomicInteger();
  public final AtomicInteger singlePeerOps = new AtomicInteger();
  /** Calls of {@link #addPeers} (several peers in one datapath call). */
  public final AtomicInteger peerBatches = new AtomicInteger();
  public final AtomicInteger programs = new AtomicInteger();
  private volatile String failAll;

  @Override
  public synchronized Map<String, ObservedConfig> observe() {
    Map<String, ObservedConfig> out = new HashMap<>();
    namespaces.keySet().forEach(uid -> out.put(uid, observe(uid).orElseThrow()));
    return out;
  }

  @Override
  public synchronized Optional<ObservedConfig> observe(String uid) {
    Ns n = namespaces.get(uid);
    if (n == null) {
      return Optional.empty();
    }
    return Optional.of(new ObservedConfig(uid, n.hostIp, n.via, n.hostIp, true, !n.hostIp.isEmpty(), true, n.deviceAlive,
        n.deviceAlive ? n.port : 0, n.deviceAlive ? n.publicKey : "", n.deviceAlive ? n.peers : Map.of()));
  }

  @Override
  public synchronized void program(ConfigDatapath c, String privateKey) {
    check();
    Ns n = namespaces.computeIfAbsent(c.uid(), u -> new Ns());
    n.hostIp = c.secondaryIp();
    n.via = c.primaryIp();
    n.deviceAlive = true;
    n.port = c.port();
    n.publicKey = publicKeyOf(privateKey);
    n.peers.clear();
    n.peers.putAll(c.peers());
    programs.incrementAndGet();
    bulkLoads.incrementAndGet();
  }

  @Override
  public synchronized void syncPeers(ConfigDatapath c, String privateKey) {
    check();
    Ns n = device(c.uid());
    n.peers.clear();
    n.peers.putAll(c.peers());
    bulkLoads.incrementAndGet();
  }

  @Override
  public synchronized void addPeer(String uid, String publicKey, String allowedIp) {
    check();
    device(uid).peers.put(publicKey, allowedIp);
    singlePeerOps.incrementAndGet();
  }

  @Override
  public synchronized void addPeers(String uid, java.util.LinkedHashMap<String, String> allowedIpByKey) {
    check();
    device(uid).peers.putAll(allowedIpByKey);
    peerBatches.incrementAndGet();
  }

  @Override
  public synchronized void removePeer(String uid, String publicKey) {
    check();
    device(uid).peers.remove(publicKey);
    singlePeerOps.incrementAndGet();
  }

  @Override
  public synchronized void remove(String uid) {
    check();
    namespaces.remove(uid);
  }

  @Override
  public synchronized Optional<ConfigSample> sample(String uid) {
    check();
    Ns n = namespaces.get(uid);
    if (n == null || !n.deviceAlive) {
      return Optional.empty();
    }
    java.util.List<ConfigSample.Peer> peers = new java.util.ArrayList<>();
    n.peers.keySet().forEach(k -> {
      long[] c = n.counters.getOrDefault(k, new long[3]);
      peers.add(new ConfigSample.Peer(k, c[0], c[1], c[2]));
    });
    return Optional.of(new ConfigSample(uid, peers, n.dropped, n.conntrack));
  }

  /** A config's namespace, for tests that set what {@link #sample} reports. */
  public synchronized Ns ns(String uid) {
    return namespaces.get(uid);
  }

  @Override
  public synchronized java.util.Set<String> frontends() {
    return java.util.Set.copyOf(frontends);
  }

  @Override
  public synchronized void addFrontend(String ip) {
    check();
    frontends.add(ip);
  }

  @Override
  public synchronized void removeFrontend(String ip) {
    check();
    frontends.remove(ip);
  }

  /** The device dies (its peers with it); the namespace stays. */
  public synchronized void killDevice(String uid) {
    Ns n = namespaces.get(uid);
    n.deviceAlive = false;
    n.peers.clear();
  }

  /** A node reboot: nothing of ours is left. */
  public synchronized void wipe() {
    namespaces.clear();
    frontends.clear();
  }

  /** Every operation fails with {@code message} until called again with null. */
  public void failWith(String message) {
    failAll = message;
  }

  /** Creates a namespace as an earlier agent might have left it. */
  public synchronized void leftover(String uid) {
    namespaces.computeIfAbsent(uid, u -> new Ns());
  }

  public synchronized Map<String, String> peers(String uid) {
    Ns n = namespaces.get(uid);
    return n == null || !n.deviceAlive ? Map.of() : Map.copyOf(n.peers);
  }

  public synchronized boolean has(String uid) {
    return namespaces.containsKey(uid);
  }

  public synchronized int port(String uid) {
    return namespaces.get(uid).port;
  }

  /** A stand-in for X25519: enough to tell keys apart. */
  public static String publicKeyOf(String privateKey) {
    return "pub:" + privateKey;
  }

  private Ns device(String uid) {
    Ns n = namespaces.get(uid);
    if (n == null || !n.deviceAlive) {
      throw new IllegalStateException("device of " + uid + " does not exist");
    }
    return n;
  }

  private void check() {
    String f = failAll;
    if (f != null) {
      throw new IllegalStateException(f);
    }
  }
}
