package io.egressgateway.core.gateway;

import akka.serialization.jackson.JacksonMigration;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/**
 * Reads the peer commands of members that still run the release in which they were nested in
 * {@code GatewayNode}: Akka's Jackson serializer names the class in the manifest, so a worker of that
 * release sends {@code io.egressgateway.gateway.entity.GatewayNode$AddPeer}. The fields are unchanged;
 * only the name is mapped. Registered for the old names under {@code akka.serialization.jackson.migrations}
 * (cluster-core's reference.conf).
 *
 * <p>Only this direction is covered: a member of the previous release cannot read the new names, so in a
 * mixed cluster gateways are upgraded before workers (see docs/design.md, "Modules and layers").
 */
public final class PeerCommandRename extends JacksonMigration {
  static final Map<String, String> RENAMED = Map.of(
      "io.egressgateway.gateway.entity.GatewayNode$AddPeer", GatewayNodeProtocol.AddPeer.class.getName(),
      "io.egressgateway.gateway.entity.GatewayNode$RemovePeer", GatewayNodeProtocol.RemovePeer.class.getName());

  /** Version 1 is the old name (a manifest without a version); 2 is the first under the new name. */
  @Override
  public int currentVersion() {
    return 2;
  }

  @Override
  public String transformClassName(int fromVersion, String className) {
    return RENAMED.getOrDefault(className, className);
  }

  @Override
  public JsonNode transform(int fromVersion, JsonNode json) {
    return json;
  }
}
