package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/** Upstream {@code GatewayStatus}: one per gateway node (name = node), informational. */
@Group(StaticGatewayConfiguration.GROUP)
@Version(StaticGatewayConfiguration.VERSION)
@Kind("GatewayStatus")
@Plural("gatewaystatuses")
@Singular("gatewaystatus")
@JsonIgnoreProperties(ignoreUnknown = true)
public class GatewayStatus extends CustomResource<GatewayStatusSpec, EmptyStatus> implements Namespaced {}
