package io.egressgateway.azure.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The upstream cloud-config file ({@code azure.json}), same field names, plus what upstream rejects:
 * workload identity ({@code aadFederatedTokenFile} or {@code useFederatedWorkloadIdentityExtension} with
 * {@code AZURE_FEDERATED_TOKEN_FILE}) and client certificates ({@code aadClientCertPath}).
 */
public record CloudConfig(String cloud, String tenantId, String subscriptionId, String location, String resourceGroup,
                          String loadBalancerName, String loadBalancerResourceGroup, String vnetName, String vnetResourceGroup,
                          String subnetName, String aadClientId, String aadClientSecret, String aadClientCertPath,
                          String aadClientCertPassword, boolean useManagedIdentityExtension, String userAssignedIdentityId,
                          boolean useWorkloadIdentity, String federatedTokenFile) {

  public enum Auth { CLIENT_SECRET, CLIENT_CERTIFICATE, MANAGED_IDENTITY, WORKLOAD_IDENTITY }

  private static final ObjectMapper JSON = new ObjectMapper();

  public static CloudConfig read(Path file) {
    try {
      return parse(Files.readString(file), System.getenv("AZURE_FEDERATED_TOKEN_FILE"));
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read cloud config " + file + ": " + e.getMessage(), e);
    }
  }

  /** Parses and validates; {@code envTokenFile} is {@code AZURE_FEDERATED_TOKEN_FILE} (may be null). */
  public static CloudConfig parse(String json, String envTokenFile) {
    JsonNode n;
    try {
      n = JSON.readTree(json);
    } catch (IOException e) {
      throw new IllegalArgumentException("cloud config is not valid JSON: " + e.getMessage(), e);
    }
    String rg = text(n, "resourceGroup");
    String tokenFile = text(n, "aadFederatedTokenFile");
    boolean wi = n.path("useFederatedWorkloadIdentityExtension").asBoolean(false) || !tokenFile.isEmpty();
    if (wi && tokenFile.isEmpty() && envTokenFile != null) {
      tokenFile = envTokenFile;
    }
    CloudConfig c = new CloudConfig(or(text(n, "cloud"), "AzurePublicCloud"), text(n, "tenantId"),
        or(text(n, "subscriptionId"), text(n, "subscriptionID")), text(n, "location"), rg,
        or(text(n, "gatewayLoadBalancerName"), "kubeegressgateway-ilb"), or(text(n, "loadBalancerResourceGroup"), rg),
        text(n, "vnetName"), or(text(n, "vnetResourceGroup"), rg), text(n, "subnetName"), text(n, "aadClientId"),
        text(n, "aadClientSecret"), text(n, "aadClientCertPath"), text(n, "aadClientCertPassword"),
        n.path("useManagedIdentityExtension").asBoolean(false), or(text(n, "userAssignedIdentityID"), text(n, "userAssignedIdentityId")),
        wi, tokenFile);
    List<String> problems = c.problems();
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("invalid cloud config: " + String.join("; ", problems));
    }
    return c;
  }

  /** Which credential the fields select; the first that applies wins. */
  public Auth auth() {
    if (useWorkloadIdentity) {
      return Auth.WORKLOAD_IDENTITY;
    }
    if (useManagedIdentityExtension) {
      return Auth.MANAGED_IDENTITY;
    }
    if (!aadClientCertPath.isEmpty()) {
      return Auth.CLIENT_CERTIFICATE;
    }
    return Auth.CLIENT_SECRET;
  }

  public String subnetId() {
    return "/subscriptions/" + subscriptionId + "/resourceGroups/" + vnetResourceGroup + "/providers/Microsoft.Network/virtualNetworks/"
        + vnetName + "/subnets/" + subnetName;
  }

  public String prefixIdBase() {
    return "/subscriptions/" + subscriptionId + "/resourceGroups/" + resourceGroup + "/providers/Microsoft.Network/publicIPPrefixes/";
  }

  private List<String> problems() {
    List<String> p = new ArrayList<>();
    for (String[] f : new String[][] {{"location", location}, {"subscriptionId", subscriptionId}, {"resourceGroup", resourceGroup},
        {"vnetName", vnetName}, {"subnetName", subnetName}}) {
      if (f[1].isEmpty()) {
        p.add(f[0] + " is required");
      }
    }
    switch (auth()) {
      case WORKLOAD_IDENTITY -> {
        if (tenantId.isEmpty() || aadClientId.isEmpty() || federatedTokenFile.isEmpty()) {
          p.add("workload identity needs tenantId, aadClientId and a federated token file (aadFederatedTokenFile or AZURE_FEDERATED_TOKEN_FILE)");
        }
      }
      case CLIENT_CERTIFICATE -> {
        if (tenantId.isEmpty() || aadClientId.isEmpty()) {
          p.add("client certificate auth needs tenantId and aadClientId");
        }
      }
      case CLIENT_SECRET -> {
        if (tenantId.isEmpty() || aadClientId.isEmpty() || aadClientSecret.isEmpty()) {
          p.add("no credential: set aadClientId+aadClientSecret, aadClientCertPath, useManagedIdentityExtension or workload identity (tenantId required)");
        }
      }
      case MANAGED_IDENTITY -> { }
    }
    return p;
  }

  private static String text(JsonNode n, String field) {
    return n.path(field).asText("").trim();
  }

  private static String or(String v, String fallback) {
    return v.isEmpty() ? fallback : v;
  }

  @Override
  public String toString() {
    return "CloudConfig[subscription=" + subscriptionId + ", resourceGroup=" + resourceGroup + ", auth=" + auth() + "]";
  }
}
