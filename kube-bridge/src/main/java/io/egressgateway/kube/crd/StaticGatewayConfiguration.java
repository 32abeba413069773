package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * The user-facing resource, wire-compatible with the Go original's {@code StaticGatewayConfiguration}:
 * same group, version, kind, field names and types. Additions only: conditions, observedGeneration,
 * per-node gateway profiles, printer columns, a short name and CEL validation in the CRD.
 */
@Group(StaticGatewayConfiguration.GROUP)
@Version(StaticGatewayConfiguration.VERSION)
@Kind("StaticGatewayConfiguration")
@Plural("staticgatewayconfigurations")
@Singular("staticgatewayconfiguration")
@ShortNames("sgc")
@AdditionalPrinterColumn(name = "Egress Prefix", jsonPath = ".status.egressIpPrefix", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "ILB IP", jsonPath = ".status.gatewayServerProfile.ip", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Port", jsonPath = ".status.gatewayServerProfile.port", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
@JsonIgnoreProperties(ignoreUnknown = true)
public class StaticGatewayConfiguration
    extends CustomResource<StaticGatewayConfigurationSpec, StaticGatewayConfigurationStatus>
    implements Namespaced {

  public static final String GROUP = "egressgateway.kubernetes.azure.com";
  public static final String VERSION = "v1alpha1";
  /** The upstream finalizer name, so an SGC created under the Go controller is cleaned up by us. */
  public static final String FINALIZER = "static-gateway-configuration-controller.microsoft.com";
  /** Pod annotation naming the SGC (in the pod's namespace) the pod egresses through. */
  public static final String POD_ANNOTATION = "kubernetes.azure.com/static-gateway-configuration";
}
