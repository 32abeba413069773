package io.egressgateway.kube.model;

import java.util.regex.Pattern;

/**
 * Strict IPv4 CIDR syntax (the datapath is IPv4 only, like upstream). The same expression is the CRD's
 * OpenAPI pattern for {@code excludeCidrs} items, so the API server and the controller agree.
 */
public final class Cidrs {
  public static final String IPV4_CIDR = "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}"
      + "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])$";
  private static final Pattern CIDR = Pattern.compile(IPV4_CIDR);

  private Cidrs() {}

  public static boolean isIpv4Cidr(String s) {
    return s != null && CIDR.matcher(s).matches();
  }
}
