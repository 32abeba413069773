package io.egressgateway.gateway;

import akka.actor.Cancellable;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.ShardingEnvelope;
import io.egressgateway.core.gateway.GatewayNodeProtocol;
import io.egressgateway.datapath.command.CommandRunner;
import io.egressgateway.datapath.net.NetnsStore;
import io.egressgateway.datapath.wireguard.WireGuardBackend;
import io.egressgateway.datapath.wireguard.WireGuardBackends;
import io.egressgateway.gateway.entity.ConfigSource;
import io.egressgateway.gateway.entity.GatewayNode;
import io.egressgateway.gateway.infra.GatewaySettings;
import io.egressgateway.gateway.infra.HealthBoard;
import io.egressgateway.gateway.infra.LinuxGatewayDatapath;
import io.egressgateway.gateway.infra.ProbeServer;
import io.egressgateway.gateway.model.GatewayDatapath;
import io.egressgateway.gateway.model.GatewayKeys;
import io.egressgateway.gateway.model.GatewayNames;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Everything a gateway member runs for its node: the WireGuard backend (probed once), the Linux executor,
 * the {@code GatewayNode} shard region, the entity of this node started at once (and kept alive: sharding
 * passivates idle entities, and this one must keep watching its datapath), and the health-probe server.
 * The app calls {@link #start} on members with role {@code gateway} and {@link #drain()} on SIGTERM.
 */
public final class GatewayAgent implements AutoCloseable {
  /** Well under sharding's default passivation idle timeout (120 s). */
  private static final java.time.Duration WAKE_UP_INTERVAL = java.time.Duration.ofSeconds(30);

  private final String node;
  private final ActorRef<ShardingEnvelope<GatewayNodeProtocol.Command>> region;
  private final ProbeServer probe;
  private final GatewaySettings settings;
  private final Cancellable keepAlive;

  private GatewayAgent(String node, ActorRef<ShardingEnvelope<GatewayNodeProtocol.Command>> region, ProbeServer probe,
      GatewaySettings settings, Cancellable keepAlive) {
    this.node = node;
    this.region = region;
    this.probe = probe;
    this.settings = settings;
    this.keepAlive = keepAlive;
  }

  /** The production wiring: settings from the system's config, the replicated view, the real datapath. */
  public static GatewayAgent start(ActorSystem<?> system, String node, GatewayKeys keys) {
    GatewaySettings s = GatewaySettings.from(system.settings().config());
    CommandRunner cmd = new CommandRunner(s.commandTimeout());
    WireGuardBackend wg = WireGuardBackends.choose(cmd, s.wireguardBackend());
    NetnsStore namespaces = s.netnsHolder().isEmpty() ? NetnsStore.local(cmd)
        : NetnsStore.held(cmd, java.nio.file.Path.of(s.netnsHolder()), java.nio.file.Path.of("/var/run/netns"));
    GatewayDatapath dp = new LinuxGatewayDatapath(cmd, wg, new GatewayNames(node, s.netnsPrefix()), s.hostNetns(),
        s.peerKeepaliveSeconds(), s.hostInterface(), namespaces);
    return start(system, node, s, keys, ConfigSource.replicated(system), dp, wg::onDeviceLost);
  }

  /** Explicit wiring (tests, the sandbox). Blocks briefly while the probe server binds. */
  public static GatewayAgent start(ActorSystem<?> system, String node, GatewaySettings s, GatewayKeys keys,
      ConfigSource views, GatewayDatapath datapath, Consumer<Consumer<String>> deviceLostHook) {
    HealthBoard board = new HealthBoard();
    ProbeServer probe = null;
    if (s.probeEnabled()) {
      try {
        probe = ProbeServer.start(s.probeBind(), s.probePort(), board, datapath, s.verifyCache());
      } catch (IOException e) {
        throw new UncheckedIOException("gateway health probe cannot listen on " + s.probeBind() + ":" + s.probePort(), e);
      }
    }
    var region = GatewayNode.init(system, new GatewayNode.Deps(s, datapath, keys, views, deviceLostHook, board));
    region.tell(new ShardingEnvelope<>(node, new GatewayNode.WakeUp()));
    Cancellable keepAlive = system.scheduler().scheduleAtFixedRate(WAKE_UP_INTERVAL, WAKE_UP_INTERVAL,
        () -> region.tell(new ShardingEnvelope<>(node, new GatewayNode.WakeUp())), system.executionContext());
    return new GatewayAgent(node, region, probe, s, keepAlive);
  }

  public ActorRef<ShardingEnvelope<GatewayNodeProtocol.Command>> region() {
    return region;
  }

  public String node() {
    return node;
  }

  /** The bound probe port (0 when the probe is disabled). */
  public int probePort() {
    return probe == null ? 0 : probe.port();
  }

  /** SIGTERM: the probe answers 503 at once and stops after the configured drain delay. */
  public CompletableFuture<Void> drain() {
    return probe == null ? CompletableFuture.completedFuture(null) : probe.drain(settings.drainDelay());
  }

  @Override
  public void close() {
    keepAlive.cancel();
    if (probe != null) {
      probe.close();
    }
  }
}
