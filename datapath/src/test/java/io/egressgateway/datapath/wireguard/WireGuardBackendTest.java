package io.egressgateway.datapath.wireguard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.egressgateway.datapath.Privileged;
import io.egressgateway.datapath.command.CommandException;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.model.WgConfig;
import io.egressgateway.datapath.model.WgDump;
import io.egressgateway.datapath.model.WgPeer;
import io.egressgateway.datapath.net.Net;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("privileged")
class WireGuardBackendTest {
  private final CommandRunner cmd = new CommandRunner();
  private final String sfx = Privileged.suffix();
  private final String host = "egwt-host-" + sfx;
  private final String inner = "egwt-in-" + sfx;
  private final String dev = "egwt" + sfx;

  @BeforeEach
  void setUp() {
    Privileged.require();
    Net.ensureNetns(cmd, host);
    Net.ensureNetns(cmd, inner);
  }

  @AfterEach
  void tearDown() {
    Net.deleteNetns(cmd, inner);
    Net.deleteNetns(cmd, host);
  }

  @Test
  void javaKeysMatchWgPubkey() {
    WgKeys.KeyPair kp = WgKeys.generate();
    String viaWg = cmd.run(List.of("wg", "pubkey"), kp.privateKey() + "\n").stdout().strip();
    assertEquals(viaWg, kp.publicKey());
    String fromWg = cmd.run(List.of("wg", "genkey")).stdout().strip();
    assertEquals(cmd.run(List.of("wg", "pubkey"), fromWg + "\n").stdout().strip(), WgKeys.publicKeyOf(fromWg));
    assertFalse(kp.toString().contains(kp.privateKey()));
  }

  @Test
  void goDeviceMovesKeepsSocketInHostAndTakesPeersOneByOneAndInBulk() throws Exception {
    GoWireGuard wg = new GoWireGuard(cmd);
    CompletableFuture<String> lost = new CompletableFuture<>();
    wg.onDeviceLost(lost::complete);
    WgKeys.KeyPair key = WgKeys.generate();
    WgDevice d = wg.moveInto(wg.create(host, dev), inner, "wg0");
    assertEquals(dev, Net.link(cmd, inner, "wg0").orElseThrow().alias());
    assertTrue(wg.alive(d));
    assertEquals(d, wg.moveInto(d, inner, "wg0"), "a second move is a no-op");

    wg.configure(d, new WgConfig(key.privateKey(), 51999, List.of()));
    String p1 = WgKeys.generate().publicKey();
    wg.setPeer(d, WgPeer.of(p1, "10.9.0.1/32"));
    WgDump dump = wg.dump(d);
    assertEquals(key.publicKey(), dump.publicKey());
    assertEquals(51999, dump.listenPort());
    GoWireGuard restarted = new GoWireGuard(cmd); // what an agent restarted since the device was made has
    assertTrue(restarted.alive(d), "a running wireguard-go is found by its command line");
    assertEquals(key.privateKey(), restarted.privateKey(d), "the key is read back from the device");
    assertEquals(List.of("10.9.0.1/32"), dump.peers().get(p1).allowedIps());
    assertTrue(cmd.run(CommandRunner.inNetns(host, List.of("ss", "-uanH"))).stdout().contains(":51999"),
        "the UDP socket stays in the host namespace");

    List<WgPeer> many = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      many.add(WgPeer.of(WgKeys.generate().publicKey(), "10.9.1." + i + "/32"));
    }
    wg.sync(d, new WgConfig(key.privateKey(), 51999, many));
    dump = wg.dump(d);
    assertEquals(50, dump.peers().size());
    assertFalse(dump.peers().containsKey(p1), "sync removes peers not in the config");
    wg.removePeer(d, many.get(0).publicKey());
    wg.removePeer(d, many.get(0).publicKey());
    assertEquals(49, wg.dump(d).peers().size());

    long pid = wg.pidOf(dev).orElseThrow();
    cmd.run(List.of("kill", "-9", Long.toString(pid)));
    assertEquals(dev, lost.get(5, TimeUnit.SECONDS));
    assertFalse(wg.alive(d));
    CommandException e = assertThrows(CommandException.class, () -> wg.dump(d));
    assertTrue(e.getMessage().contains("wg show " + dev + " dump"), e.getMessage());
    assertThrows(CommandException.class, () -> wg.privateKey(d));
  }

  @Test
  void aDeviceWhoseWireguardGoWasReplacedIsReadOverANewConnection() throws Exception {
    GoWireGuard wg = new GoWireGuard(cmd);
    WgDevice d = wg.create(host, dev);
    WgKeys.KeyPair first = WgKeys.generate();
    wg.configure(d, new WgConfig(first.privateKey(), 51997, List.of()));
    assertEquals(first.publicKey(), wg.dump(d).publicKey());
    assertEquals(first.publicKey(), wg.dump(d).publicKey(), "read again over the kept connection");

    cmd.run(List.of("kill", "-9", Long.toString(wg.pidOf(dev).orElseThrow())));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (wg.alive(d) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    WgDevice again = wg.create(host, dev);
    WgKeys.KeyPair second = WgKeys.generate();
    wg.configure(again, new WgConfig(second.privateKey(), 51997, List.of()));
    WgDump dump = wg.dump(again);
    assertEquals(second.publicKey(), dump.publicKey(), "the new process's device, not a stale answer");
    assertEquals(WgDump.parse(cmd.run(List.of("wg", "show", dev, "dump")).stdout()), dump);
    wg.delete(again);
  }

  @Test
  void uapiReadOfAGoDeviceEqualsWhatWgShowReports() throws Exception {
    GoWireGuard wg = new GoWireGuard(cmd);
    WgDevice d = wg.create(host, dev);
    WgKeys.KeyPair key = WgKeys.generate();
    wg.configure(d, new WgConfig(key.privateKey(), 51998, List.of()));
    String p1 = WgKeys.generate().publicKey();
    String p2 = WgKeys.generate().publicKey();
    wg.setPeer(d, new WgPeer(p1, List.of("10.9.0.1/32", "10.9.0.2/32"), "10.224.0.100:6000", 3));
    wg.setPeer(d, new WgPeer(p2, List.of("0.0.0.0/0", "::/0"), "", 0));
    WgDump viaWg = WgDump.parse(cmd.run(List.of("wg", "show", dev, "dump")).stdout());
    WgDump viaUapi;
    try (UapiConnections uapi = new UapiConnections()) {
      viaUapi = uapi.get(java.nio.file.Path.of("/var/run/wireguard", dev + ".sock"), java.time.Duration.ofSeconds(2));
    }
    assertEquals(viaWg, viaUapi);
    assertEquals(key.publicKey(), viaUapi.publicKey());
    assertEquals(3, viaUapi.peers().get(p1).keepaliveSeconds());
    assertEquals(viaWg, wg.dump(d), "the backend reads over UAPI");

    wg.setPeer(d, new WgPeer(p1, List.of("10.9.0.1/32", "10.9.0.2/32"), "10.224.0.100:6000", 0));
    assertEquals(0, wg.dump(d).peers().get(p1).keepaliveSeconds(), "setting a peer again with 0 turns its keepalive off");
    String p3 = WgKeys.generate().publicKey();
    String p4 = WgKeys.generate().publicKey();
    wg.setPeers(d, List.of(new WgPeer(p3, List.of("10.9.0.3/32"), "", 1), new WgPeer(p4, List.of("10.9.0.4/32"), "", 1)));
    WgDump both = wg.dump(d);
    assertEquals(List.of("10.9.0.3/32"), both.peers().get(p3).allowedIps(), "several peers in one wg set");
    assertEquals(List.of("10.9.0.4/32"), both.peers().get(p4).allowedIps());
    assertEquals(1, both.peers().get(p4).keepaliveSeconds());
    assertEquals(4, both.peers().size());
    // UAPI takes literal endpoints only; a host name still works (through wg, which resolves it)
    wg.setPeer(d, new WgPeer(p4, List.of("10.9.0.4/32"), "localhost:51820", 0));
    assertEquals("127.0.0.1:51820", wg.dump(d).peers().get(p4).endpoint());
    wg.removePeer(d, p3);
    assertEquals(3, wg.dump(d).peers().size());
    wg.delete(d);
    assertThrows(java.io.IOException.class,
        () -> new UapiConnections().get(java.nio.file.Path.of("/var/run/wireguard", dev + ".sock"), java.time.Duration.ofSeconds(2)));
  }

  @Test
  void deleteIsNotReportedAsLoss() throws Exception {
    GoWireGuard wg = new GoWireGuard(cmd);
    java.util.List<String> lost = new java.util.concurrent.CopyOnWriteArrayList<>();
    wg.onDeviceLost(lost::add);
    WgDevice d = wg.create(host, dev);
    WgDevice sentinel = wg.create(host, dev + "s");
    wg.delete(d);
    wg.delete(d);
    assertFalse(wg.alive(d));
    assertTrue(wg.pidOf(dev).isEmpty());
    // a device whose process dies after the delete is reported: once it is, the deleted one's exit
    // (noticed earlier) would have been too
    cmd.run(List.of("kill", "-9", Long.toString(wg.pidOf(dev + "s").orElseThrow())));
    io.egressgateway.testing.Eventually.await(java.time.Duration.ofSeconds(5), () -> !lost.isEmpty(), "the sentinel's loss reported");
    assertEquals(List.of(dev + "s"), lost, "the deleted device is not reported lost");
    wg.delete(sentinel);
  }

  @Test
  void aCreatedDeviceIsUp() {
    GoWireGuard wg = new GoWireGuard(cmd);
    WgDevice d = wg.create(host, dev);
    try {
      assertTrue(Net.link(cmd, host, dev).orElseThrow().up(), "create brings the link up");
      assertTrue(wg.pidOf(dev).isPresent());
    } finally {
      wg.delete(d);
    }
  }

  @Test
  void probeFindsNoKernelWireGuardHereAndOverrideWins() {
    assertEquals("wireguard-go", WireGuardBackends.choose(cmd, "wireguard-go").kind());
    assertEquals("kernel", WireGuardBackends.choose(cmd, "kernel").kind());
    assertThrows(IllegalArgumentException.class, () -> WireGuardBackends.choose(cmd, "bogus"));
    boolean kernel = WireGuardBackends.kernelAvailable(cmd);
    assertEquals(kernel ? "kernel" : "wireguard-go", WireGuardBackends.choose(cmd, "auto").kind());
  }

  /**
   * A UAPI socket file that exists but does not take connections yet (wireguard-go binds it before it listens;
   * a path that is not a listening socket refuses the same way): create waits until the device answers, so the
   * configuration that follows goes through instead of a refused connection making `wg` unlink the file.
   */
  @Test
  void createWaitsUntilTheSocketAnswersNotJustUntilItsFileExists(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
      throws Exception {
    java.nio.file.Path slow = tmp.resolve("slow-wireguard-go");
    java.nio.file.Files.writeString(slow, """
        #!/bin/sh
        # $1 is -f, $2 the device: its link and a socket file that refuses connections come first
        ip tuntap add dev "$2" mode tun
        mkdir -p /var/run/wireguard
        : > "/var/run/wireguard/$2.sock"
        sleep 1.5
        rm -f "/var/run/wireguard/$2.sock"
        ip link del "$2"
        exec wireguard-go "$@"
        """);
    slow.toFile().setExecutable(true);
    GoWireGuard wg = new GoWireGuard(cmd, slow.toString());
    WgKeys.KeyPair key = WgKeys.generate();
    WgDevice d = wg.create(host, dev);
    try {
      wg.configure(d, new WgConfig(key.privateKey(), 51998, List.of()));
      assertEquals(key.publicKey(), wg.dump(d).publicKey());
    } finally {
      wg.delete(d);
    }
  }
}
