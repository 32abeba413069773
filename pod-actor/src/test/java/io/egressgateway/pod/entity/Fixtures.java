package io.egressgateway.pod.entity;

import io.egressgateway.core.view.ConfigView;
import io.egressgateway.datapath.wireguard.WgKeys;
import io.egressgateway.datapath.model.Ipv4Cidr;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Config views and pods for entity tests. */
final class Fixtures {
  static final String GW_PUB = WgKeys.generate().publicKey();
  /** The node agent's exception CIDRs, as the chart sets them by default. */
  static final List<Ipv4Cidr> EXCEPTIONS = List.of(Ipv4Cidr.parse("169.254.169.254/32"), Ipv4Cidr.parse("169.254.10.11/32"));

  private Fixtures() {}

  static ConfigView view(String key, boolean ready) {
    return new ConfigView(key, "uid-" + key.replace('/', '-'), 1, "10.224.0.100", 6000, GW_PUB, "sgc-key",
        List.of("198.18.20.0/24"), ConfigView.DEFAULT_ROUTE_GATEWAY, "203.0.113.16/30",
        Map.of("gw1", new ConfigView.GatewayAddresses("10.224.0.5", "10.224.0.15"),
            "gw2", new ConfigView.GatewayAddresses("10.224.0.6", "10.224.0.16")),
        ready);
  }

  /**
   * A config as the controller publishes it while Azure provisions (kube-bridge's GatewayConfigPass): key, uid,
   * generation, gateway key, Secret name, excluded CIDRs and route mode, but no endpoint, port or gateways.
   */
  static ConfigView provisioning(String key) {
    return new ConfigView(key, "uid-" + key.replace('/', '-'), 1, "", 0, GW_PUB, "sgw-uid", List.of("198.18.20.0/24"),
        ConfigView.DEFAULT_ROUTE_GATEWAY, "", Map.of(), false);
  }

  /** {@code v} with another pool. */
  static ConfigView withGateways(ConfigView v, Map<String, ConfigView.GatewayAddresses> gateways) {
    return new ConfigView(v.key(), v.uid(), v.generation() + 1, v.ilbIp(), v.port(), v.gatewayPublicKey(), v.keySecretName(),
        v.excludeCidrs(), v.defaultRoute(), v.egressPrefix(), Map.copyOf(gateways), v.ready());
  }

  static Map<String, ConfigView> views(ConfigView... vs) {
    Map<String, ConfigView> m = new ConcurrentHashMap<>();
    for (ConfigView v : vs) {
      m.put(v.key(), v);
    }
    return m;
  }

  static PodTunnel.Pod pod(String containerId, String netns) {
    return new PodTunnel.Pod(containerId, netns, "10.244.1.5", "169.254.1.1", "default/gw", List.of());
  }
}
