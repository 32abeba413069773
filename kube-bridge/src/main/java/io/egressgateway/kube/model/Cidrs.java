package io.egressgateway.kube.model;

/** Strict IPv4 CIDR syntax (the datapath is IPv4 only, like upstream). */
public final class Cidrs {
  private Cidrs() {}

  public static boolean isIpv4Cidr(String s) {
    if (s == null) {
      return false;
    }
    int slash = s.indexOf('/');
    if (slash < 0 || slash != s.lastIndexOf('/')) {
      return false;
    }
    return isIpv4(s.substring(0, slash)) && isNumberIn(s.substring(slash + 1), 0, 32);
  }

  public static boolean isIpv4(String s) {
    String[] parts = s.split("\\.", -1);
    if (parts.length != 4) {
      return false;
    }
    for (String p : parts) {
      if (!isNumberIn(p, 0, 255) || (p.length() > 1 && p.charAt(0) == '0')) {
        return false;
      }
    }
    return true;
  }

  private static boolean isNumberIn(String s, int min, int max) {
    if (s.isEmpty() || s.length() > 3 || !s.chars().allMatch(Character::isDigit)) {
      return false;
    }
    int v = Integer.parseInt(s);
    return v >= min && v <= max;
  }
}
