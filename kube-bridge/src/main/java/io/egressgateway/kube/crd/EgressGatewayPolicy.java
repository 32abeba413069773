package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * An addition of ours (upstream issue 1083), cluster-scoped so that only cluster administrators write it: the pods
 * of the selected namespaces whose labels match egress through the named StaticGatewayConfiguration without any pod
 * annotation. A pod's own annotation always wins; among policies, the oldest (then the first by name) wins.
 */
@Group(StaticGatewayConfiguration.GROUP)
@Version(StaticGatewayConfiguration.VERSION)
@Kind(EgressGatewayPolicy.KIND)
@Plural(EgressGatewayPolicy.PLURAL)
@Singular("egressgatewaypolicy")
@ShortNames("egwp")
@AdditionalPrinterColumn(name = "Configuration", jsonPath = ".status.configuration", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Namespaces", jsonPath = ".status.selectedNamespaces", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Accepted", jsonPath = ".status.conditions[?(@.type==\"Accepted\")].status",
    type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
@JsonIgnoreProperties(ignoreUnknown = true)
public class EgressGatewayPolicy extends CustomResource<EgressGatewayPolicySpec, EgressGatewayPolicyStatus> {
  public static final String KIND = "EgressGatewayPolicy";
  public static final String PLURAL = "egressgatewaypolicies";
}
