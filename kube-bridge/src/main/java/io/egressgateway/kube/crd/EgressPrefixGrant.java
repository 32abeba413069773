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
 * An addition of ours (the Go original has no such kind), cluster-scoped so that only cluster administrators
 * write it: the namespaces listed may name the bring-your-own public IP prefixes listed in an SGC's
 * {@code spec.publicIpPrefixId}. Consulted only while grants are enforced (chart value {@code prefixGrants.enforce}).
 */
@Group(StaticGatewayConfiguration.GROUP)
@Version(StaticGatewayConfiguration.VERSION)
@Kind(EgressPrefixGrant.KIND)
@Plural(EgressPrefixGrant.PLURAL)
@Singular("egressprefixgrant")
@ShortNames("epg")
@AdditionalPrinterColumn(name = "Namespaces", jsonPath = ".spec.namespaces", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
@JsonIgnoreProperties(ignoreUnknown = true)
public class EgressPrefixGrant extends CustomResource<EgressPrefixGrantSpec, Void> {
  public static final String KIND = "EgressPrefixGrant";
  public static final String PLURAL = "egressprefixgrants";
}
