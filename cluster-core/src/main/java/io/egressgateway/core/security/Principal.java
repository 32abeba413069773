package io.egressgateway.core.security;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Who signed a message, as its certificate says: the functional roles it may act as and, for a certificate
 * issued to one node, that node. Read from the certificate's DNS names: {@code <role>.role.egress-gateway}
 * and {@code <node>.node.egress-gateway}. DNS names because Helm's {@code genSignedCert} can set nothing
 * else, and cert-manager can set them too. Every member certificate also carries a subject name shared by all
 * (Akka's TLS peer check wants one name in common), which says nothing about the role.
 *
 * @param roles   functional roles named by the certificate (possibly none: then it may do nothing)
 * @param node    the node the certificate was issued to, if it names one
 * @param subject the certificate's subject, for logs
 */
public record Principal(Set<String> roles, Optional<String> node, String subject) {
  public static final String ROLE_SUFFIX = ".role.egress-gateway";
  public static final String NODE_SUFFIX = ".node.egress-gateway";

  /** The member of a cluster that runs without signatures ({@code egress.security.enforce = off}). */
  public static final Principal UNVERIFIED = new Principal(Set.of(), Optional.empty(), "unverified");

  public Principal {
    roles = Set.copyOf(roles);
  }

  public boolean hasRole(String role) {
    return roles.contains(role);
  }

  /** A role for the metric label: the first of controller, gateway, worker it holds, or {@code none}. */
  public String mainRole() {
    return roles.isEmpty() ? "none" : new TreeSet<>(roles).first();
  }

  public static Principal of(X509Certificate cert) {
    Set<String> roles = new TreeSet<>();
    String node = null;
    for (String dns : dnsNames(cert)) {
      String name = dns.toLowerCase(java.util.Locale.ROOT);
      if (name.endsWith(ROLE_SUFFIX)) {
        roles.add(name.substring(0, name.length() - ROLE_SUFFIX.length()));
      } else if (name.endsWith(NODE_SUFFIX)) {
        if (node != null) {
          // a certificate naming two nodes is nobody's node certificate
          return new Principal(Set.of(), Optional.empty(), cert.getSubjectX500Principal().getName());
        }
        node = name.substring(0, name.length() - NODE_SUFFIX.length());
      }
    }
    return new Principal(roles, Optional.ofNullable(node), cert.getSubjectX500Principal().getName());
  }

  private static List<String> dnsNames(X509Certificate cert) {
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans == null) {
        return List.of();
      }
      // type 2 is dNSName (RFC 5280)
      return sans.stream().filter(s -> Integer.valueOf(2).equals(s.get(0))).map(s -> (String) s.get(1)).toList();
    } catch (CertificateParsingException e) {
      return List.of();
    }
  }
}
