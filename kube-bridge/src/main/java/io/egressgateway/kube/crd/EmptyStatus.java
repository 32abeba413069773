package io.egressgateway.kube.crd;

/** Upstream's PodEndpoint and GatewayStatus have an empty status object. */
public class EmptyStatus {}
