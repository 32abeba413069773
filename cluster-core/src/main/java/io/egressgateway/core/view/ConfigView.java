package io.egressgateway.core.view;

import io.egressgateway.core.CborSerializable;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What every node needs to know about one StaticGatewayConfiguration, replicated to all members and read
 * locally (never from the Kubernetes API) on the CNI and gateway paths. Published by the controller's
 * {@code GatewayConfig} entity; carries no secret material (the gateway private key stays in the Secret
 * named by {@link #keySecretName()}).
 *
 * <p>A valid configuration enters the view before Azure is asked, as not ready: key, uid, generation,
 * gateway key, Secret name, excludeCidrs and defaultRoute are set, but no ILB IP, port or gateways yet. So
 * a pod that starts meanwhile is told "not ready yet" rather than "not known"; consumers skip entries
 * without an endpoint. The complete entry replaces it once Azure has answered.
 *
 * @param key            {@code namespace/name} of the SGC
 * @param uid            SGC uid; names the probe path {@code /gw/<uid>} and Azure resources
 * @param generation     SGC metadata.generation this view was derived from
 * @param ilbIp          frontend IP of the pool's internal load balancer (the pods' WireGuard endpoint)
 * @param port           the config's WireGuard port on the ILB and on every gateway (6000-6999)
 * @param gatewayPublicKey base64 WireGuard public key shared by all gateways of the config
 * @param keySecretName  name of the Secret (in the release namespace) holding {@code PrivateKey}/{@code PublicKey}
 * @param excludeCidrs   destinations that bypass the gateway (routed via the pod's eth0)
 * @param defaultRoute   {@code staticEgressGateway} or {@code azureNetworking}
 * @param egressPrefix   the public IP prefix (CIDR) or empty in private mode; informational
 * @param gateways       gateway node name to its addresses on that node
 * @param ready          true once Azure and at least one gateway are provisioned
 */
public record ConfigView(
    String key,
    String uid,
    long generation,
    String ilbIp,
    int port,
    String gatewayPublicKey,
    String keySecretName,
    List<String> excludeCidrs,
    String defaultRoute,
    String egressPrefix,
    Map<String, GatewayAddresses> gateways,
    boolean ready)
    implements CborSerializable {

  public static final String DEFAULT_ROUTE_GATEWAY = "staticEgressGateway";
  public static final String DEFAULT_ROUTE_AZURE = "azureNetworking";

  public ConfigView {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(uid, "uid");
    excludeCidrs = excludeCidrs == null ? List.of() : List.copyOf(excludeCidrs);
    gateways = gateways == null ? Map.of() : Map.copyOf(gateways);
    defaultRoute = defaultRoute == null || defaultRoute.isEmpty() ? DEFAULT_ROUTE_GATEWAY : defaultRoute;
    egressPrefix = egressPrefix == null ? "" : egressPrefix;
    ilbIp = ilbIp == null ? "" : ilbIp;
    gatewayPublicKey = gatewayPublicKey == null ? "" : gatewayPublicKey;
    keySecretName = keySecretName == null ? "" : keySecretName;
  }

  /** The addresses of one gateway node for this config. */
  public record GatewayAddresses(String primaryIp, String secondaryIp) implements CborSerializable {
    /** Both addresses known: Azure has given the node its ipConfig, so the node can serve the config. */
    public boolean complete() {
      return primaryIp != null && !primaryIp.isEmpty() && secondaryIp != null && !secondaryIp.isEmpty();
    }
  }

  public String namespace() {
    return key.substring(0, key.indexOf('/'));
  }

  public String name() {
    return key.substring(key.indexOf('/') + 1);
  }

  public Optional<GatewayAddresses> gatewayOn(String node) {
    return Optional.ofNullable(gateways.get(node));
  }

  public ConfigView withReady(boolean value) {
    return new ConfigView(key, uid, generation, ilbIp, port, gatewayPublicKey, keySecretName,
        excludeCidrs, defaultRoute, egressPrefix, gateways, value);
  }

  public ConfigView withGateways(Map<String, GatewayAddresses> value) {
    return new ConfigView(key, uid, generation, ilbIp, port, gatewayPublicKey, keySecretName,
        excludeCidrs, defaultRoute, egressPrefix, value, ready);
  }
}
