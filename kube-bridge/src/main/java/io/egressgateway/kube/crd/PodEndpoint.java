package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/** Upstream {@code PodEndpoint}: one per provisioned pod, same name/namespace, owned by the Pod. */
@Group(StaticGatewayConfiguration.GROUP)
@Version(StaticGatewayConfiguration.VERSION)
@Kind("PodEndpoint")
@Plural("podendpoints")
@Singular("podendpoint")
@JsonIgnoreProperties(ignoreUnknown = true)
public class PodEndpoint extends CustomResource<PodEndpointSpec, EmptyStatus> implements Namespaced {}
