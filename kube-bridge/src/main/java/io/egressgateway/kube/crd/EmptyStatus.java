package io.egressgateway.kube.crd;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/** Upstream's PodEndpoint and GatewayStatus have an empty status object. */
@JsonIgnoreProperties(ignoreUnknown = true)
public class EmptyStatus {}
