package io.egressgateway.azure.model;

/** One gateway node of a config: its primary IP and the config's secondary (SNAT source) IP. */
public record NodeAddress(String node, String primaryIp, String secondaryIp) {}
