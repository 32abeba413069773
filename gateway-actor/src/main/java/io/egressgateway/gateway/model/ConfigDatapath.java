package io.egressgateway.gateway.model;

import java.util.Map;
import java.util.Objects;

/**
 * The datapath one gateway configuration should have on this gateway node: derived from the replicated
 * config view (port, addresses, key reference) and the peers the {@code GatewayNode} entity holds.
 *
 * @param uid              config uid (names the namespace and the probe path)
 * @param port             WireGuard listen port
 * @param primaryIp        this node's primary IP (next hop out of the gateway namespace)
 * @param secondaryIp      the config's secondary IP on this node (host0 address, SNAT source)
 * @param ilbIp            the pool's ILB frontend IP, added to the host interface (floating IP); empty = none
 * @param gatewayPublicKey expected device public key, empty when not yet known
 * @param keySecretName    where the private key comes from ({@link GatewayKeys})
 * @param peers            pod public key to allowed IP ({@code a.b.c.d/32})
 */
public record ConfigDatapath(String uid, int port, String primaryIp, String secondaryIp, String ilbIp, String gatewayPublicKey,
    String keySecretName, Map<String, String> peers) {
  public ConfigDatapath {
    Objects.requireNonNull(uid, "uid");
    ilbIp = ilbIp == null ? "" : ilbIp;
    gatewayPublicKey = gatewayPublicKey == null ? "" : gatewayPublicKey;
    keySecretName = keySecretName == null ? "" : keySecretName;
    peers = Map.copyOf(peers);
  }

  public ConfigDatapath withPeers(Map<String, String> value) {
    return new ConfigDatapath(uid, port, primaryIp, secondaryIp, ilbIp, gatewayPublicKey, keySecretName, value);
  }
}
